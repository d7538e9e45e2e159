"""Inbound images, voice and video: the file is downloaded after commit by a Celery task
(media/get through the client layer), kept in the default storage, shown in the back office;
a redelivered task downloads nothing twice, an invalid media id is recorded, not retried."""

import base64

import pytest
from celery.exceptions import Retry
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from officialaccount import services
from officialaccount.models import Message
from officialaccount.tasks import message_media_fetch_task
from tests.officialaccount.conftest import GH_ID, post_plain
from wechat_simulator import state
from wxbackend.wechat import GatewayUnavailable

pytestmark = pytest.mark.django_db

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
AMR = b"#!AMR\n" + bytes(range(32))
CREATE_TIME = 1764057600


@pytest.fixture(autouse=True)
def _memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def media_xml(msg_type: str, media_id: str, *, msg_id: int, extra: str = "") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><FromUserName><![CDATA[o_media_0001]]></FromUserName>"
        f"<CreateTime>{CREATE_TIME}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId>{extra}<MsgId>{msg_id}</MsgId></xml>"
    )


def _stored(message: Message) -> bytes:
    with default_storage.open(message.media_file.name, "rb") as handle:
        return handle.read()


def test_an_inbound_image_is_downloaded_after_commit_and_kept(client, plain_mode, wechat_sim, committing):
    state.set_media("img_0001", PNG, "image/png")
    with committing():
        response = post_plain(client, media_xml("image", "img_0001", msg_id=31001,
                                                extra="<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl>"))
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.media_file.name.startswith("officialaccount/media/image/")
    assert message.media_file.name.endswith(".png")
    assert f"/{message.pk}-" in message.media_file.name
    assert message.media_content_type == "image/png"
    assert _stored(message) == PNG
    calls = wechat_sim.calls("cgi-bin/media/get")
    assert [c["query"]["media_id"] for c in calls] == ["img_0001"]


def test_retries_of_a_media_message_download_once(client, plain_mode, wechat_sim, committing):
    state.set_media("voice_0001", AMR, "audio/amr")
    xml = media_xml("voice", "voice_0001", msg_id=31002, extra="<Format><![CDATA[amr]]></Format>")
    for _ in range(3):
        with committing():
            assert post_plain(client, xml).status_code == 200
    message = Message.objects.get()
    assert message.media_file.name.endswith(".amr")
    assert _stored(message) == AMR
    assert len(wechat_sim.calls("cgi-bin/media/get")) == 1


def test_a_redelivered_task_finds_the_file_and_returns(plain_mode, wechat_sim):
    state.set_media("img_0002", PNG, "image/png")
    message = Message.objects.create(direction="in", openid="o_m", dedupe_key="m:31003", msg_type="image",
                                     fields={"MediaId": "img_0002"})
    message_media_fetch_task.delay(message.pk)
    message_media_fetch_task.delay(message.pk)  # acks_late: the broker hands it out again
    message.refresh_from_db()
    assert _stored(message) == PNG
    assert len(wechat_sim.calls("cgi-bin/media/get")) == 1


def test_a_file_left_by_a_run_that_died_before_recording_it_is_reused(plain_mode, wechat_sim):
    state.set_media("img_0003", PNG, "image/png")
    message = Message.objects.create(direction="in", openid="o_m", dedupe_key="m:31004", msg_type="image",
                                     fields={"MediaId": "img_0003"})
    services.message_media_fetch(message_id=message.pk)
    name = Message.objects.get(pk=message.pk).media_file.name
    Message.objects.filter(pk=message.pk).update(media_file="", media_content_type="")  # the lost UPDATE
    services.message_media_fetch(message_id=message.pk)
    message.refresh_from_db()
    assert message.media_file.name == name  # not name_<random>.png beside an orphan
    dirname = name.rsplit("/", 1)[0]
    assert default_storage.listdir(dirname)[1] == [name.rsplit("/", 1)[1]]


def test_an_invalid_media_id_is_recorded_and_not_retried(plain_mode, wechat_sim):
    message = Message.objects.create(direction="in", openid="o_m", dedupe_key="m:31005", msg_type="image",
                                     fields={"MediaId": "expired_0001"})
    message_media_fetch_task.delay(message.pk)
    message_media_fetch_task.delay(message.pk)
    message.refresh_from_db()
    assert message.error == "40007: invalid media_id"
    assert not message.media_file
    assert len(wechat_sim.calls("cgi-bin/media/get")) == 1


def test_a_busy_wechat_is_retried_by_the_task(plain_mode, wechat_sim):
    state.set_media("img_0004", PNG, "image/png")
    message = Message.objects.create(direction="in", openid="o_m", dedupe_key="m:31006", msg_type="image",
                                     fields={"MediaId": "img_0004"})
    wechat_sim.fail_next("cgi-bin/media/get", -1)
    with pytest.raises(GatewayUnavailable):
        services.message_media_fetch(message_id=message.pk)
    message.refresh_from_db()
    assert (message.media_file.name, message.error) == ("", "")  # nothing recorded: retry later
    wechat_sim.fail_next("cgi-bin/media/get", 45009)
    with pytest.raises(Retry):  # the task schedules a retry (with backoff) for transient errors
        message_media_fetch_task.delay(message.pk)
    message_media_fetch_task.delay(message.pk)  # the retry
    message.refresh_from_db()
    assert _stored(message) == PNG
    assert len(wechat_sim.calls("cgi-bin/media/get")) == 3


def test_location_and_text_messages_download_nothing(client, plain_mode, wechat_sim, committing):
    xml = media_xml("location", "", msg_id=31007).replace("<MediaId><![CDATA[]]></MediaId>", "")
    with committing():
        assert post_plain(client, xml).status_code == 200
    assert wechat_sim.calls("cgi-bin/media/get") == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_hot_path_queues_the_download_once_committed(client, plain_mode, wechat_sim):
    """Outside a test transaction the message commits with its INSERT (autocommit), and the
    download is queued right after it."""
    state.set_media("img_0005", PNG, "image/png")
    assert post_plain(client, media_xml("image", "img_0005", msg_id=31008)).status_code == 200
    message = Message.objects.get()
    assert _stored(message) == PNG


def test_conversation_shows_a_thumbnail_and_a_download_link(client, plain_mode, wechat_sim):
    from officialaccount.models import Follower

    state.set_media("img_0006", PNG, "image/png")
    state.set_media("voice_0006", AMR, "audio/amr")
    follower = Follower.objects.create(openid="o_media_0001", is_subscribed=True)
    image = Message.objects.create(direction="in", openid="o_media_0001", dedupe_key="m:31009",
                                   msg_type="image", fields={"MediaId": "img_0006"})
    voice = Message.objects.create(direction="in", openid="o_media_0001", dedupe_key="m:31010",
                                   msg_type="voice", fields={"MediaId": "voice_0006", "Format": "amr"})
    Message.objects.create(direction="in", openid="o_media_0001", dedupe_key="m:31011",
                           msg_type="image", fields={"MediaId": "gone"})
    for message in Message.objects.all():
        services.message_media_fetch(message_id=message.pk)
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    client.force_login(user)

    page = client.get(reverse("admin:officialaccount_follower_conversation", args=[follower.pk])).content.decode()
    image_url = reverse("admin:officialaccount_message_media", args=[image.pk])
    voice_url = reverse("admin:officialaccount_message_media", args=[voice.pk])
    assert f'<img class="media-thumb" src="{image_url}"' in page
    assert f'<a class="media-download" href="{voice_url}">' in page
    assert "40007: invalid media_id" in page

    shown = client.get(image_url)
    assert shown["Content-Type"] == "image/png"
    assert b"".join(shown.streaming_content) == PNG
    downloaded = client.get(voice_url)
    assert downloaded["Content-Type"] == "application/octet-stream"
    assert downloaded["Content-Disposition"].startswith("attachment;")
    assert b"".join(downloaded.streaming_content) == AMR


def test_media_view_needs_staff(client):
    message = Message.objects.create(direction="in", openid="o_m", dedupe_key="m:31012", msg_type="image")
    message.media_file.save("x.png", ContentFile(PNG), save=True)
    response = client.get(reverse("admin:officialaccount_message_media", args=[message.pk]))
    assert response.status_code == 302  # to the admin login


def test_media_names_cannot_be_guessed_from_the_message_id(plain_mode, wechat_sim):
    """The default storage may be public (product images are): a follower's photo must not
    sit at a path made of the message id alone."""
    state.set_media("img_0008", PNG, "image/png")
    state.set_media("img_0009", PNG, "image/png")
    names = []
    for n, media_id in enumerate(["img_0008", "img_0009"]):
        message = Message.objects.create(direction="in", openid="o_m", dedupe_key=f"m:3102{n}", msg_type="image",
                                         fields={"MediaId": media_id})
        names.append(services.message_media_fetch(message_id=message.pk).media_file.name)
        stem = names[-1].rsplit("/", 1)[1].removesuffix(".png")
        assert stem.startswith(f"{message.pk}-") and len(stem) >= len(str(message.pk)) + 20


def test_message_detail_links_to_the_staff_only_media_view(client, plain_mode, wechat_sim):
    state.set_media("img_0010", PNG, "image/png")
    message = Message.objects.create(direction="in", openid="o_m", dedupe_key="m:31030", msg_type="image",
                                     fields={"MediaId": "img_0010"})
    message = services.message_media_fetch(message_id=message.pk)
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long"))
    page = client.get(reverse("admin:officialaccount_message_change", args=[message.pk])).content.decode()
    assert reverse("admin:officialaccount_message_media", args=[message.pk]) in page
    assert message.media_file.name not in page


def test_the_simulator_records_a_file_answer_and_its_page_shows_it(plain_mode, wechat_sim):
    import requests

    state.set_media("img_0011", PNG, "image/png")
    message = Message.objects.create(direction="in", openid="o_m", dedupe_key="m:31040", msg_type="image",
                                     fields={"MediaId": "img_0011"})
    services.message_media_fetch(message_id=message.pk)
    [call] = wechat_sim.calls("cgi-bin/media/get")
    assert (call["status"], call["verdict"]) == (200, "ok")
    assert call["response"] == {"content_type": "image/png", "bytes": len(PNG)}
    assert call["query"]["access_token"].startswith("***")
    page = requests.get(f"{wechat_sim.url}/__sim__/", timeout=5)
    assert page.status_code == 200 and "cgi-bin/media/get" in page.text
