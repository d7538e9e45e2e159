"""Fixtures that serve the project (and so the WeChat simulator) over real HTTP.

`wechat_sim` points WECHAT_API_BASE / WECHAT_PAY_API_BASE at the simulator for one test and
hands back helpers: `wechat_sim.issue_login_code("o_1")` (o_1 becomes a user of the
mini-program), `wechat_sim.set_user("o_1")` (a follower of the official account: openids
belong to one app, as at WeChat), `wechat_sim.fail_next(path, 45009)`,
`wechat_sim.calls("cgi-bin/user/info")`. The simulator keeps its state in the cache, which
the suite clears around every test, and never touches the database.
"""

import threading
from dataclasses import dataclass

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

from wechat_simulator import mp_shipping, state, store


class _QuietHandler(WSGIRequestHandler):
    disable_nagle_algorithm = True  # else each answer waits ~40 ms for a delayed ACK

    # The request line carries access tokens in its query string: keep it out of the output.
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def wechat_server_url():
    """The project served by a threaded WSGI server on a free port, for the whole session."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.daemon_threads = True
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass
class WeChatSim:
    """The simulator as a test sees it: its URL, its state helpers and its call log."""

    url: str

    issue_login_code = staticmethod(state.issue_login_code)
    issue_phone_code = staticmethod(state.issue_phone_code)
    set_user = staticmethod(state.set_user)
    fail_next = staticmethod(state.fail_next)
    tokens = staticmethod(state.tokens)
    expire_tokens = staticmethod(state.expire_tokens)
    set_user_page_size = staticmethod(state.set_user_page_size)
    qrcode = staticmethod(state.qrcode)
    shipping_uploads = staticmethod(mp_shipping.uploads)
    notices = staticmethod(state.notices)

    @property
    def api_base(self) -> str:
        return f"{self.url}/__sim__/api"

    @property
    def pay_base(self) -> str:
        return f"{self.url}/__sim__/pay"

    def calls(self, path: str | None = None, *, api: str | None = None) -> list[dict]:
        """Calls received, oldest first; `path` as WeChat spells it (no leading slash)."""
        return store.calls(path=path, api=api)


@pytest.fixture
def wechat_sim(wechat_server_url, settings):
    sim = WeChatSim(url=wechat_server_url)
    settings.WECHAT_API_BASE = sim.api_base
    settings.WECHAT_PAY_API_BASE = sim.pay_base
    settings.WECHAT_SIMULATOR_ENABLED = True
    return sim
