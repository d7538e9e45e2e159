"""Tag names come from WeChat (tags/get): fetched by `sync_followers`, by the tag list's
button and after commit when a follower shows a tag id not seen before; the back office
shows and filters followers by name."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from officialaccount import services
from officialaccount.models import Follower, Message, Tag
from wechat_simulator import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    client.force_login(user)
    return client


def test_tags_sync_stores_names_and_follows_renames(wechat_sim):
    state.set_tag(100, "老客户")
    state.set_tag(101, "批发")
    Tag.objects.create(tag_id=100)  # known by id only, from a profile fetched earlier
    Tag.objects.create(tag_id=7, name="已删除的标签")
    assert services.tags_sync() == 2
    assert dict(Tag.objects.values_list("tag_id", "name")) == {7: "已删除的标签", 100: "老客户", 101: "批发"}
    state.set_tag(100, "VIP")
    services.tags_sync()
    assert Tag.objects.get(tag_id=100).name == "VIP"
    assert len(wechat_sim.calls("cgi-bin/tags/get")) == 2


def test_simulator_counts_followers_per_tag(wechat_sim):
    from officialaccount import gateway

    state.set_tag(100, "老客户")
    state.set_user("o_tag_0001", tagid_list=[100])
    state.set_user("o_tag_0002", tagid_list=[100])
    assert gateway.tags_get() == [gateway.TagInfo(tag_id=100, name="老客户")]
    assert wechat_sim.calls("cgi-bin/tags/get")[0]["response"]["tags"] == [{"id": 100, "name": "老客户", "count": 2}]


def test_a_new_tag_id_on_a_profile_fetches_the_names_after_commit(wechat_sim, django_capture_on_commit_callbacks):
    state.set_tag(102, "活动用户")
    state.set_user("o_tag_0003", tagid_list=[102])
    Follower.objects.create(openid="o_tag_0003", is_subscribed=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.follower_profile_fetch(openid="o_tag_0003")
    follower = Follower.objects.get(openid="o_tag_0003")
    assert [t.name for t in follower.tags.all()] == ["活动用户"]
    # A known tag id costs no tags/get.
    state.set_user("o_tag_0004", tagid_list=[102])
    Follower.objects.create(openid="o_tag_0004", is_subscribed=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.follower_profile_fetch(openid="o_tag_0004")
    assert len(wechat_sim.calls("cgi-bin/tags/get")) == 1


def test_sync_followers_fetches_tag_names_and_the_admin_filters_by_them(wechat_sim, staff_client):
    state.set_tag(100, "老客户")
    state.set_tag(101, "批发")
    state.set_user("o_tag_0005", tagid_list=[100])
    state.set_user("o_tag_0006", tagid_list=[101])
    call_command("sync_followers", stdout=io.StringIO(), stderr=io.StringIO())
    url = reverse("admin:officialaccount_follower_changelist")
    page = staff_client.get(url).content.decode()
    assert "老客户" in page and "批发" in page
    wholesale = Tag.objects.get(tag_id=101)
    filtered = staff_client.get(url, {"tags__id__exact": wholesale.pk}).content.decode()
    assert "o_tag_0006" in filtered and "o_tag_0005" not in filtered


def test_tag_list_button_syncs_names(wechat_sim, staff_client):
    state.set_tag(103, "团购")
    changelist = staff_client.get(reverse("admin:officialaccount_tag_changelist")).content.decode()
    assert 'id="tag-sync"' in changelist
    sync = reverse("admin:officialaccount_tag_sync")
    assert staff_client.get(sync).status_code == 405
    response = staff_client.post(sync, follow=True)
    assert "已从微信同步 1 个标签" in response.content.decode()
    assert Tag.objects.get(tag_id=103).name == "团购"


def test_tag_sync_refusal_is_shown(wechat_sim, staff_client):
    wechat_sim.fail_next("cgi-bin/tags/get", 48001)
    response = staff_client.post(reverse("admin:officialaccount_tag_sync"), follow=True)
    assert "同步失败" in response.content.decode()
    assert not Tag.objects.exists()
    assert not Message.objects.exists()
