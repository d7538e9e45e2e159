"""Photo questions: a customer who sends a picture of a product gets the product back, like a
text question; fingerprints are kept when pictures are saved; the picture is fetched within
the 5-second reply or, when WeChat is slow, matched afterwards and answered by
customer-service message; what is not a picture, or too big, gets no product and no error."""

import io
import time

import pytest
from defusedxml.ElementTree import fromstring
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from catalog import demo
from catalog.models import Product, ProductImage, ProductImageHash
from catalog.photos import MAX_PHOTO_BYTES, fingerprint_of
from officialaccount.models import AutoReplySettings, Message
from tests.officialaccount.conftest import GH_ID, post_plain
from wechat_simulator import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(settings):
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    demo.load(stdout=io.StringIO())
    AutoReplySettings.objects.create(default_reply_text="默认")
    return Product.objects.get(title="明前西湖龙井 250g")


def _forwarded(name: str, *, scale: float = 0.4, quality: int = 60) -> bytes:
    """The stored picture as a phone forwards it: smaller and re-encoded as JPEG."""
    with default_storage.open(name, "rb") as handle:
        image = Image.open(handle).convert("RGB")
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _image_xml(media_id: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><FromUserName><![CDATA[o_photo_1]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def _send(client, data: bytes, msg_id: int, content_type: str = "image/jpeg"):
    state.set_media(f"photo_{msg_id}", data, content_type)
    response = post_plain(client, _image_xml(f"photo_{msg_id}", msg_id))
    assert response.status_code == 200
    return fromstring(response.content) if response.content.startswith(b"<") else None


def test_pictures_are_fingerprinted_when_saved_and_forgotten_when_gone(catalog):
    names = {catalog.cover.name, *catalog.images.values_list("image", flat=True)}
    assert set(catalog.image_hashes.values_list("image_name", flat=True)) == names
    gallery = catalog.images.first()
    gallery.delete()
    assert gallery.image.name not in set(catalog.image_hashes.values_list("image_name", flat=True))
    ProductImage.objects.create(product=catalog, image=ContentFile(demo._png(999), name="new.png"))
    assert catalog.image_hashes.count() == 3
    catalog.sales_count += 1
    catalog.save(update_fields=["sales_count"])  # a counter: nothing re-read
    assert ProductImageHash.objects.filter(product=catalog).count() == 3


def test_a_forwarded_product_picture_gets_that_product_back(client, plain_mode, wechat_sim, catalog):
    for n, name in enumerate([catalog.cover.name, catalog.images.last().image.name]):
        root = _send(client, _forwarded(name), 41000 + n)
        assert root.findtext("MsgType") == "news"
        assert root.findtext("Articles/item/Title").startswith("明前西湖龙井 250g ¥368.00")
        assert root.findtext("Articles/item/Url") == f"https://shop.example.com/wechat/mp/product/{catalog.id}/"
    # A screenshot-like copy: larger, at a different quality, still the product.
    root = _send(client, _forwarded(catalog.cover.name, scale=1.7, quality=90), 41010)
    assert root.findtext("Articles/item/Title").startswith("明前西湖龙井")
    assert Message.objects.get(dedupe_key="m:41010").reply_kind == "news"


def test_a_picture_of_nothing_we_sell_is_left_unanswered_like_text(client, plain_mode, wechat_sim, catalog):
    root = _send(client, _forwarded_bytes(demo._png(123456)), 42000)
    assert root.findtext("Content") == "默认"
    assert Message.objects.get(dedupe_key="m:42000").reply_kind == "text"


def _forwarded_bytes(png: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, format="JPEG", quality=70)
    return out.getvalue()


def _bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")  # 100 megapixels in a few KB
    return out.getvalue()


@pytest.mark.parametrize("data", [
    b"not a picture at all",
    b"\xff\xd8\xff\xe0" + b"\x00" * 200,  # a JPEG that stops after its header
    b"\xff\xd8" + b"\x00" * (MAX_PHOTO_BYTES + 1),  # too big
    "bomb",
])
def test_what_is_not_a_readable_picture_gets_no_product_and_no_error(client, plain_mode, wechat_sim, catalog, data):
    data = _bomb() if data == "bomb" else data
    assert fingerprint_of(data) is None
    root = _send(client, data, 43000)
    assert root.findtext("Content") == "默认"


def test_a_retry_of_the_same_picture_fetches_nothing_again(client, plain_mode, wechat_sim, catalog):
    data = _forwarded(catalog.cover.name)
    first = _send(client, data, 44000)
    again = _send(client, data, 44000)
    assert first.findtext("Articles/item/Title") == again.findtext("Articles/item/Title")
    assert len(wechat_sim.calls("cgi-bin/media/get")) == 1


def test_a_slow_picture_is_matched_after_the_reply_and_answered_by_customer_service(
        client, plain_mode, wechat_sim, catalog, django_capture_on_commit_callbacks):
    wechat_sim.set_user("o_photo_1")
    wechat_sim.fail_next("cgi-bin/media/get", 0, delay=2.5)  # answers, but after the deadline
    data = _forwarded(catalog.cover.name)
    with django_capture_on_commit_callbacks(execute=True):
        started = time.monotonic()
        root = _send(client, data, 45000)
        answered_in = time.monotonic() - started
    assert root.findtext("Content") == "默认"
    assert answered_in < 3.0  # gave up on the picture at the 2 s read deadline, well inside 5 s
    (sent,) = [c for c in wechat_sim.calls("cgi-bin/message/custom/send") if c["verdict"] == "ok"]
    assert sent["body"]["msgtype"] == "news" and sent["body"]["touser"] == "o_photo_1"
    assert sent["body"]["news"]["articles"][0]["title"].startswith("明前西湖龙井")
    assert Message.objects.get(dedupe_key="m:45000").media_file  # kept, as every picture is


def test_without_fingerprinted_products_no_picture_is_fetched_in_the_callback(client, plain_mode, wechat_sim):
    AutoReplySettings.objects.create(default_reply_text="默认")
    root = _send(client, b"whatever", 46000)
    assert root.findtext("Content") == "默认"
    assert wechat_sim.calls("cgi-bin/media/get") == []


def test_a_large_picture_is_matched_after_the_reply(client, plain_mode, wechat_sim, catalog,
                                                    django_capture_on_commit_callbacks, settings):
    """Over 2 MB the callback does not decode (it could eat the 5 seconds): the task does."""
    wechat_sim.set_user("o_photo_1")
    with default_storage.open(catalog.cover.name, "rb") as handle:
        image = Image.open(handle).convert("RGB").resize((2400, 2400))
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.write(b"\x00" * (2 * 1024 * 1024))  # trailing bytes after IEND: still the same picture
    with django_capture_on_commit_callbacks(execute=True):
        root = _send(client, out.getvalue(), 47000, content_type="image/png")
    assert root.findtext("Content") == "默认"
    (sent,) = wechat_sim.calls("cgi-bin/message/custom/send")
    assert sent["body"]["news"]["articles"][0]["title"].startswith("明前西湖龙井")


def test_a_product_off_the_shelf_is_not_matched(client, plain_mode, wechat_sim, catalog):
    Product.objects.filter(pk=catalog.pk).update(is_on_shelf=False)
    from catalog.cache import catalog_version_bump

    catalog_version_bump()  # as the admin's shelf action does
    root = _send(client, _forwarded(catalog.cover.name), 48000)
    assert root.findtext("Content") == "默认"


def test_the_command_fingerprints_pictures_written_in_bulk(catalog):
    from django.core.management import call_command

    ProductImageHash.objects.all().delete()
    out = io.StringIO()
    call_command("catalog_image_hashes", stdout=out)
    assert ProductImageHash.objects.filter(product=catalog).count() == 3
    assert out.getvalue().startswith(f"{ProductImageHash.objects.count()} pictures")
    call_command("catalog_image_hashes", stdout=out)  # again: nothing to do
    assert out.getvalue().endswith("0 pictures fingerprinted\n")
