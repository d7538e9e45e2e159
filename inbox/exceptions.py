"""Why a staff reply is refused, before any call to the channel."""

from django.utils.translation import gettext_lazy as _

from wxbackend.api import DomainError


class ReplyWindowClosed(DomainError):
    code = "reply_window_closed"
    status = 409
    default_detail = _("The customer's last message is more than 48 hours old: WeChat no longer "
                       "accepts customer-service messages to them until they write again.")


class ContactUnsubscribed(DomainError):
    code = "contact_unsubscribed"
    status = 409
    default_detail = _("The customer no longer follows the official account: messages cannot reach them.")


class ReplyInvalid(DomainError):
    code = "reply_invalid"
    status = 400
    default_detail = _("The reply is empty or incomplete.")
