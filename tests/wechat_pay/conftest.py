"""Pay fixtures: throw-away keys and known merchant settings for every pay test, and a small
HTTP server standing in for the project's notify endpoints. The simulator itself is served
by the shared `wechat_sim` fixture (tests/wechat_fixtures.py)."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MCH_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"


def _write_key(path, key):
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


@dataclass(frozen=True)
class PayKeys:
    merchant_private: str  # path
    wechat_private: str  # path: the simulator's signing key
    wechat_public: str  # path: its public half, which the project trusts
    other_private: str  # path: a key nobody trusts


@pytest.fixture(scope="session")
def pay_key_files(tmp_path_factory) -> PayKeys:
    folder = tmp_path_factory.mktemp("pay_keys")
    keys = {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in ("mch", "wx", "other")}
    for name, key in keys.items():
        _write_key(folder / f"{name}.pem", key)
    (folder / "wx_public.pem").write_bytes(
        keys["wx"].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return PayKeys(str(folder / "mch.pem"), str(folder / "wx.pem"), str(folder / "wx_public.pem"), str(folder / "other.pem"))


@pytest.fixture(autouse=True)
def pay_settings(settings, pay_key_files):
    """Every pay test runs with generated keys and known merchant settings."""
    settings.WECHAT_PAY_MCH_ID = "1900000109"
    settings.WECHAT_PAY_MCH_CERT_SERIAL = MCH_SERIAL
    settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH = pay_key_files.merchant_private
    settings.WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH = pay_key_files.wechat_private
    settings.WECHAT_PAY_PUBLIC_KEY_PATH = pay_key_files.wechat_public
    settings.WECHAT_PAY_PUBLIC_KEY_ID = PUBLIC_KEY_ID
    settings.WECHAT_PAY_APIV3_KEY = "0123456789abcdef0123456789abcdef"
    settings.WECHAT_PAY_API_KEY = "192006250b4c09247ec02edce69f6a2d"
    settings.WECHAT_PAY_API_VERSION = "v3"
    settings.WECHAT_MINIAPP_APPID = "wx1234567890abcdef"
    settings.WECHAT_PAY_API_BASE = "http://127.0.0.1:9/unreachable"  # tests that call out say where
    return settings


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class NotifyReceiver:
    url: str
    received: list[Received] = field(default_factory=list)
    answer_status: int = 200

    def json(self, n: int = -1) -> dict:
        return json.loads(self.received[n].body)


@pytest.fixture
def notify_receiver(settings):
    """A tiny HTTP server where the simulator posts notifications (the project's own notify
    endpoints come later); WECHAT_PAY_NOTIFY_BASE_URL points at it."""
    receiver = NotifyReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(receiver.answer_status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}"
    settings.WECHAT_PAY_NOTIFY_BASE_URL = receiver.url
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
