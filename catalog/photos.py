"""Perceptual fingerprints of product pictures, and the index a customer's photo is matched
against (the official account's photo questions).

A fingerprint is two 64-bit hashes of the picture's luminance (ImageHash): the DCT-based
perceptual hash (phash) and the gradient hash (dhash). Both survive what WeChat and phones do
to a forwarded picture: resizing, re-encoding as JPEG, mild colour and brightness changes,
a small border or a screenshot's scaling. They do not survive crops, rotations beyond a few
degrees, mirroring, heavy overlays, or a photo of the real object (see the README).

The index holds every on-shelf product's fingerprints as numpy arrays; a match is one XOR and
popcount over all of them (about 2 ms for 300,000 pictures), so it fits the 5-second reply.
Untrusted bytes are decoded with limits: too many bytes or pixels, or anything Pillow cannot
read, is "no fingerprint", never an error.
"""

import io
import logging
import warnings
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # WeChat's own limit for an image message
MAX_PHOTO_PIXELS = 40_000_000  # a 40-megapixel phone photo; beyond, a decompression bomb
# Summed Hamming distance of both hashes (0-128) at most this far is "the same picture":
# resized and re-encoded copies of a product picture measured 0-8, different pictures 40+.
MATCH_DISTANCE = 20


@dataclass(frozen=True)
class Fingerprint:
    phash: int  # signed 64-bit, as stored in a BigIntegerField
    dhash: int


def _signed(value: imagehash.ImageHash) -> int:
    unsigned = int(str(value), 16)
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def fingerprint_of(data: bytes) -> Fingerprint | None:
    """The fingerprint of an encoded picture, or None when `data` is not a picture Pillow can
    read within the byte and pixel limits (never raises)."""
    if not data or len(data) > MAX_PHOTO_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PHOTO_PIXELS:
                return None
            image.draft("L", (256, 256))  # JPEG: decode at a reduced size, much faster
            image = image.convert("L")
        return Fingerprint(phash=_signed(imagehash.phash(image)), dhash=_signed(imagehash.dhash(image)))
    except Exception as exc:  # Pillow raises many kinds on hostile input
        logger.info("not a readable picture", extra={"event": {"error": type(exc).__name__, "bytes": len(data)}})
        return None


class PhotoIndex:
    """The fingerprints of one catalog content version: parallel arrays, read only."""

    def __init__(self, version: int, rows) -> None:
        rows = list(rows)  # (product_id, phash, dhash)
        self.version = version
        self.product_ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.phashes = np.array([r[1] for r in rows], dtype=np.int64).view(np.uint64)
        self.dhashes = np.array([r[2] for r in rows], dtype=np.int64).view(np.uint64)

    def __len__(self) -> int:
        return len(self.product_ids)

    def find(self, fingerprint: Fingerprint, *, limit: int) -> list[int]:
        """Product ids whose pictures are within MATCH_DISTANCE of `fingerprint`, closest first."""
        if not len(self):
            return []
        p = np.array([fingerprint.phash], dtype=np.int64).view(np.uint64)[0]
        d = np.array([fingerprint.dhash], dtype=np.int64).view(np.uint64)[0]
        distance = np.bitwise_count(self.phashes ^ p).astype(np.int32) + np.bitwise_count(self.dhashes ^ d)
        close = np.flatnonzero(distance <= MATCH_DISTANCE)
        best: dict[int, int] = {}
        for i in close[np.argsort(distance[close], kind="stable")]:
            best.setdefault(int(self.product_ids[i]), int(distance[i]))
            if len(best) == limit:
                break
        return list(best)
