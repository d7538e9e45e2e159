"""Pay fixtures: throw-away keys and known merchant settings for every pay test, a small
HTTP server standing in for the project's notify endpoints, and TLS certificates for v2's
mutual-TLS `secapi/` calls (`merchant_cert`). The simulator itself is served by the shared
`wechat_sim` fixture (tests/wechat_fixtures.py)."""

import datetime
import ipaddress
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

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


# --- v2 mutual TLS: the merchant certificate for secapi/ calls ---------------------------------


def _key_and_cert(folder, name, *, issuer=None, ca=False, ip=None):
    """An EC key and a certificate for `name`, signed by `issuer` (key, cert) or itself;
    written to <folder>/<name>_key.pem and <name>_cert.pem."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_key, issuer_cert = issuer or (key, None)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                        critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    (folder / f"{name}_key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / f"{name}_cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A CA (standing in for WeChat Pay's), the server's certificate for 127.0.0.1, the
    merchant's client certificate (apiclient_cert.pem / apiclient_key.pem) and a stranger's."""
    folder = tmp_path_factory.mktemp("tls")
    ca = _key_and_cert(folder, "ca", ca=True)
    _key_and_cert(folder, "server", issuer=ca, ip="127.0.0.1")
    _key_and_cert(folder, "apiclient", issuer=ca)
    _key_and_cert(folder, "stranger")
    return folder


@pytest.fixture
def merchant_cert(settings, tls_files):
    """The merchant certificate pair the v2 client needs for `secapi/` calls."""
    settings.WECHAT_PAY_CERT_PATH = str(tls_files / "apiclient_cert.pem")
    settings.WECHAT_PAY_KEY_PATH = str(tls_files / "apiclient_key.pem")
    return settings
