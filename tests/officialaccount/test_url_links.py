"""Product replies open the mini-program through a URL link (wxa/generate_urllink), made once
per product and cached, with the weixin://dl/business redirect as the fallback."""

import pytest
from defusedxml.ElementTree import fromstring

from officialaccount import links
from officialaccount.models import AutoReplySettings
from tests.factories import ProductFactory, SkuFactory
from tests.officialaccount.conftest import post_plain, text_xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def cup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    product = ProductFactory(title="316不锈钢保温杯 500ml")
    SkuFactory(product=product, price_fen=8900)
    AutoReplySettings.objects.create(default_reply_text="默认")
    return product


def _article_url(client, msg_id: int) -> str:
    root = fromstring(post_plain(client, text_xml("有没有保温杯", msg_id=msg_id)).content)
    return root.findtext("Articles/item/Url")


def test_the_first_tap_gets_a_url_link_and_later_replies_carry_it(client, plain_mode, wechat_sim, cup):
    url = _article_url(client, 1)
    assert url == f"https://shop.example.com/wechat/mp/product/{cup.id}/"
    assert wechat_sim.calls("wxa/generate_urllink") == []  # the 5-second reply calls nobody

    redirect = client.get(f"/wechat/mp/product/{cup.id}/")
    assert redirect.status_code == 302 and redirect["Location"].startswith("https://wxaurl.cn/")
    (call,) = wechat_sim.calls("wxa/generate_urllink")
    assert call["verdict"] == "ok"
    assert call["body"]["path"] == "pages/product/detail" and call["body"]["query"] == f"id={cup.id}"
    assert call["body"]["expire_type"] == 1 and call["body"]["expire_interval"] == 30

    again = client.get(f"/wechat/mp/product/{cup.id}/")
    assert again["Location"] == redirect["Location"]
    assert _article_url(client, 2) == redirect["Location"]  # cached: the reply links it directly
    assert len(wechat_sim.calls("wxa/generate_urllink")) == 1


def test_a_refused_link_falls_back_and_is_not_cached(client, plain_mode, wechat_sim, cup):
    wechat_sim.fail_next("wxa/generate_urllink", 40165, "invalid weapp pagepath")
    fallback = client.get(f"/wechat/mp/product/{cup.id}/")
    assert fallback.status_code == 302 and fallback["Location"].startswith("weixin://dl/business/?appid=")
    assert links.product_url_link_cached(cup.id) is None
    assert client.get(f"/wechat/mp/product/{cup.id}/")["Location"].startswith("https://wxaurl.cn/")


def test_an_unknown_product_costs_no_wechat_call(client, wechat_sim):
    response = client.get("/wechat/mp/product/987654/")
    assert response["Location"].startswith("weixin://dl/business/")
    assert wechat_sim.calls("wxa/generate_urllink") == []


def test_a_link_is_not_reused_for_another_mini_program(client, settings, wechat_sim, cup):
    first = client.get(f"/wechat/mp/product/{cup.id}/")["Location"]
    settings.WECHAT_MINIAPP_APPID = "wx_other_miniapp"
    settings.WECHAT_MINIAPP_SECRET = "other-secret"
    second = client.get(f"/wechat/mp/product/{cup.id}/")["Location"]
    assert first.startswith("https://wxaurl.cn/") and second != first
    assert len(wechat_sim.calls("wxa/generate_urllink")) == 2


def test_the_simulator_checks_the_link_request(wechat_sim):
    from wxbackend.wechat import GatewayRejected, call

    with pytest.raises(GatewayRejected) as too_long:
        call("miniapp", "POST", "wxa/generate_urllink", json={"path": "pages/a", "expire_type": 1,
                                                              "expire_interval": 31})
    assert too_long.value.errcode == 85402
    with pytest.raises(GatewayRejected) as bad_path:
        call("miniapp", "POST", "wxa/generate_urllink", json={"path": "pages/<script>"})
    assert bad_path.value.errcode == 40165
    with pytest.raises(GatewayRejected) as wrong_app:
        call("mp", "POST", "wxa/generate_urllink", json={"path": "pages/a"})
    assert wrong_app.value.errcode == 48001
