"""The inbox's section of a customer's personal data (PIPL), registered with
`wxbackend.privacy` (autodiscovered at start-up once that module is merged; until then
nothing imports this file).

Export: the customer's conversations with their states and the staff notes about them.
Erasure: the conversation follows the follower's pseudonym (so the pseudonymised messages and
the response metrics keep their conversation) and the notes' text is emptied; hand-offs, staff
replies and first responses hold no personal data and stay for the metrics."""

from inbox.models import Channel, Conversation, Note
from wxbackend import privacy


def _export(subject: "privacy.DataSubject") -> list[dict]:
    conversations = Conversation.objects.filter(channel=Channel.WECHAT_MP, contact__in=subject.follower_openids)
    notes: dict[int, list[dict]] = {}
    for note in Note.objects.filter(conversation__in=conversations).order_by("created_at", "id"):
        notes.setdefault(note.conversation_id, []).append({"at": note.created_at.isoformat(), "text": note.text})
    return [
        {"channel": c.channel, "state": c.state, "opened_at": c.opened_at.isoformat(),
         "closed_at": c.closed_at.isoformat() if c.closed_at else None, "notes": notes.get(c.pk, [])}
        for c in conversations.order_by("created_at", "id")
    ]


def _erase(subject: "privacy.DataSubject") -> None:
    from officialaccount.privacy import ERASED_PREFIX, pseudonym

    for openid in subject.follower_openids:
        if openid.startswith(ERASED_PREFIX):
            continue
        alias = pseudonym(openid)
        conversations = Conversation.objects.filter(channel=Channel.WECHAT_MP, contact__in=[openid, alias])
        Note.objects.filter(conversation__in=conversations).update(text="")
        conversations.filter(contact=openid).update(contact=alias)


privacy.section_register("inbox", export=_export, erase=_erase, order=95)
