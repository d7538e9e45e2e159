"""How a channel's callback opens or touches a conversation inside its own INSERT.

The official account must answer within 5 seconds and a new message costs one SQL
statement. On PostgreSQL the conversation's upsert (and the hand-off row) ride on that
statement as data-modifying CTEs that read the message's `INSERT … RETURNING id`: a retried
delivery inserts no message, so it touches no conversation either. Other databases (SQLite
for `make run`) run `conversation_inbound` after the insert, in the same transaction."""

import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from inbox.models import Conversation, Handoff

OPEN = "open"  # no rule answered: open (or reopen) the conversation, record a hand-off
TOUCH = "touch"  # a rule answered: count it as unread in a conversation that is not closed


# Templates: only quoted table names and our own INSERT are substituted (`_fill`); every
# value is a bound parameter.
_OPEN_SQL = (
    "WITH ins AS ({insert}), "
    "conv AS (INSERT INTO {conv} AS c (channel, contact, state, unread_count, opened_at, "
    "last_inbound_at, created_at, updated_at) "
    "SELECT %s, %s, 'open', 1, %s, %s, %s, %s FROM ins "
    "ON CONFLICT (channel, contact) DO UPDATE SET state = 'open', "
    "unread_count = c.unread_count + 1, "
    "opened_at = CASE WHEN c.state = 'closed' THEN EXCLUDED.opened_at ELSE c.opened_at END, "
    "first_response_at = CASE WHEN c.state = 'closed' THEN NULL ELSE c.first_response_at END, "
    "closed_at = NULL, last_inbound_at = GREATEST(c.last_inbound_at, EXCLUDED.last_inbound_at), "
    "updated_at = EXCLUDED.updated_at RETURNING c.id), "
    "hand AS (INSERT INTO {handoff} (conversation_id, channel, message_id, at) "
    "SELECT conv.id, %s, ins.id, %s FROM ins, conv) "
    "SELECT id FROM ins"
)
_TOUCH_SQL = (
    "WITH ins AS ({insert}), "
    "conv AS (UPDATE {conv} SET unread_count = unread_count + 1, "
    "last_inbound_at = GREATEST(last_inbound_at, %s), updated_at = %s "
    "WHERE channel = %s AND contact = %s AND state <> 'closed' AND EXISTS (SELECT 1 FROM ins)) "
    "SELECT id FROM ins"
)


def wrap_insert_sql(conn, message_insert: str, mode: str) -> str:
    """`message_insert` (an `INSERT … RETURNING id` with its own parameters) wrapped so that
    the same statement also applies `mode`. Parameters to append: `wrap_params(...)`."""
    qn = conn.ops.quote_name
    template = _OPEN_SQL if mode == OPEN else _TOUCH_SQL
    return (
        template.replace("{conv}", qn(Conversation._meta.db_table))
        .replace("{handoff}", qn(Handoff._meta.db_table))
        .replace("{insert}", message_insert)
    )


def wrap_params(mode: str, *, channel: str, contact: str, at) -> tuple:
    """The parameters `wrap_insert_sql(mode)` adds after the message insert's own."""
    if mode == OPEN:
        return (channel, contact, at, at, at, at, channel, at)
    return (at, at, channel, contact)


def conversation_inbound(*, channel: str, contact: str, message_id: int, at: datetime.datetime, mode: str) -> None:
    """The same as the CTEs, with the ORM (databases without data-modifying CTEs). Call it
    in the message's transaction, only when the message was inserted."""
    with transaction.atomic():
        if mode != OPEN:
            Conversation.objects.filter(channel=channel, contact=contact).exclude(
                state=Conversation.State.CLOSED
            ).update(unread_count=F("unread_count") + 1, last_inbound_at=Greatest("last_inbound_at", at))
            return
        conversation, created = Conversation.objects.select_for_update().get_or_create(
            channel=channel, contact=contact,
            defaults={"state": Conversation.State.OPEN, "unread_count": 1, "opened_at": at, "last_inbound_at": at},
        )
        if not created:
            if conversation.state == Conversation.State.CLOSED:
                conversation.opened_at, conversation.first_response_at = at, None
            conversation.state, conversation.closed_at = Conversation.State.OPEN, None
            conversation.unread_count += 1
            conversation.last_inbound_at = max(filter(None, [conversation.last_inbound_at, at]))
            conversation.save()
        Handoff.objects.create(conversation=conversation, channel=channel, message_id=message_id, at=at)
