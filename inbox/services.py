"""Writes of the inbox: staff replies (refused before any call outside the channel's
window), assignment, states, notes. Each locks the conversation row first."""

import datetime
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from inbox.channels import StaffMessage, channel_for
from inbox.exceptions import ContactUnsubscribed, ReplyWindowClosed
from inbox.models import Conversation, FirstResponse, Note, StaffReply


def _locked(conversation_id: int) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation_id)


def reply_window_left(*, conversation: Conversation, now: datetime.datetime | None = None) -> datetime.timedelta | None:
    """How long staff may still reply (None: the customer never wrote, so never)."""
    channel = channel_for(conversation.channel)
    last = channel.last_customer_message_at(conversation.contact)
    if last is None:
        return None
    return last + channel.window - (now or timezone.now())


def conversation_reply(*, conversation_id: int, staff, message: StaffMessage,
                       now: datetime.datetime | None = None) -> int:
    """Send `message` to the conversation's customer and return the channel's message id.

    Refuses, before any call, a customer who unfollowed (ContactUnsubscribed) or whose last
    message is older than the channel's window (ReplyWindowClosed); the send itself happens
    after commit, and WeChat's refusal (45015 …) is recorded on the message. The first staff
    reply after the conversation (re)opened is its first response. The conversation then
    waits for the customer (pending) and counts as read."""
    message = message.clean()
    now = now or timezone.now()
    with transaction.atomic():
        conversation = _locked(conversation_id)
        channel = channel_for(conversation.channel)
        if not channel.is_reachable(conversation.contact):
            raise ContactUnsubscribed()
        left = reply_window_left(conversation=conversation, now=now)
        if left is None or left <= datetime.timedelta(0):
            raise ReplyWindowClosed(_window_reason(conversation, now))
        message_id = channel.send(conversation.contact, message, key=f"inbox:{conversation.pk}:{uuid.uuid4().hex}")
        StaffReply.objects.create(conversation=conversation, message_id=message_id, staff=staff, created_at=now)
        if conversation.first_response_at is None:
            conversation.first_response_at = now
            FirstResponse.objects.get_or_create(
                conversation=conversation, opened_at=conversation.opened_at,
                defaults={"responded_at": now, "responder": staff,
                          "seconds": max(0, int((now - conversation.opened_at).total_seconds()))},
            )
        conversation.state = Conversation.State.PENDING
        conversation.unread_count, conversation.last_read_at, conversation.closed_at = 0, now, None
        conversation.save()
    return message_id


def _window_reason(conversation: Conversation, now: datetime.datetime) -> str:
    last = channel_for(conversation.channel).last_customer_message_at(conversation.contact)
    if last is None:
        return gettext("The customer has never written: a customer-service message can only answer a message.")
    local = date_format(timezone.localtime(last), "Y-m-d H:i")
    return gettext(
        "The customer's last message was at %(at)s, more than 48 hours ago: WeChat refuses "
        "customer-service messages until they write again."
    ) % {"at": local}


def conversation_start(*, channel: str, contact: str) -> Conversation:
    """The customer's conversation, created for staff who write first (no wait to measure:
    it starts answered and pending)."""
    now = timezone.now()
    conversation, _ = Conversation.objects.get_or_create(
        channel=channel, contact=contact,
        defaults={"state": Conversation.State.PENDING, "opened_at": now, "first_response_at": now,
                  "last_inbound_at": channel_for(channel).last_customer_message_at(contact)},
    )
    return conversation


def conversation_assign(*, conversation_id: int, assignee) -> Conversation:
    with transaction.atomic():
        conversation = _locked(conversation_id)
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee", "updated_at"])
    return conversation


def conversation_set_state(*, conversation_id: int, state: str) -> Conversation:
    """Move to `state`; closing keeps the record, a later unanswered message reopens it."""
    if state not in Conversation.State.values:
        raise ValueError(state)
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.state != state:
            conversation.state = state
            conversation.closed_at = timezone.now() if state == Conversation.State.CLOSED else None
            conversation.save(update_fields=["state", "closed_at", "updated_at"])
    return conversation


def conversation_mark_read(*, conversation_id: int) -> None:
    Conversation.objects.filter(pk=conversation_id).update(unread_count=0, last_read_at=timezone.now())


def note_add(*, conversation_id: int, author, text: str) -> Note | None:
    text = text.strip()[:2000]
    if not text:
        return None
    return Note.objects.create(conversation_id=conversation_id, author=author, text=text)
