"""The inbox's part of erasure and export (runs once `wxbackend.privacy`, the PIPL work, is
merged; until then it is skipped with that reason)."""

import pytest

privacy = pytest.importorskip("wxbackend.privacy", reason="wxbackend.privacy (PIPL export/erasure) not merged yet")

from inbox.models import Conversation, Note  # noqa: E402
from officialaccount.models import Follower  # noqa: E402
from tests.factories import CustomerFactory  # noqa: E402

pytestmark = pytest.mark.django_db


def test_erasure_pseudonymises_the_conversation_and_empties_notes(boss):
    customer = CustomerFactory(unionid="u_gone")
    Follower.objects.create(openid="o_gone", unionid="u_gone", is_subscribed=True)
    conversation = Conversation.objects.create(contact="o_gone")
    Note.objects.create(conversation=conversation, author=boss, text="客户电话 13800000000")
    subject = privacy.data_subject(customer)
    assert privacy.personal_data_export(subject)["inbox"][0]["notes"][0]["text"] == "客户电话 13800000000"
    privacy.personal_data_erase(subject)
    privacy.personal_data_erase(subject)  # idempotent
    conversation.refresh_from_db()
    assert conversation.contact.startswith("erased_")
    assert Note.objects.get().text == ""
