"""Temporary media: media/get answers the file's bytes, as WeChat does, for media ids set
with `state.set_media`; any other id answers 40007 (invalid media_id) in JSON."""

import re

from django.http import HttpResponse

from wechat_simulator import state
from wechat_simulator.mp import SimError, SimRequest, endpoint

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "audio/amr": "amr", "voice/speex": "speex",
              "video/mp4": "mp4"}
MEDIA_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@endpoint("cgi-bin/media/get", methods=("GET",), app=None)
def media_get(sim: SimRequest) -> HttpResponse:
    media_id = sim.query.get("media_id", "")
    media = state.media_get(media_id) if MEDIA_ID.match(media_id) else None
    if media is None:
        raise SimError(40007, "invalid media_id")
    response = HttpResponse(media["content"], content_type=media["content_type"])
    extension = EXTENSIONS.get(media["content_type"].split(";")[0].strip(), "bin")
    response["Content-Disposition"] = f'attachment; filename="{media_id}.{extension}"'
    return response
