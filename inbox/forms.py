"""The conversation page's forms (validated here, acted on by services)."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from inbox.channels import StaffMessage
from inbox.models import CannedReply, Conversation


class ReplyForm(forms.Form):
    KINDS = [("text", _("text")), ("image", _("image")), ("product", _("product card"))]

    kind = forms.ChoiceField(label=_("type"), choices=KINDS, initial="text", widget=forms.RadioSelect)
    canned = forms.ModelChoiceField(label=_("canned reply"), queryset=CannedReply.objects.filter(is_active=True),
                                    required=False, empty_label=_("(none)"))
    text = forms.CharField(label=_("text"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3, "cols": 70}))
    media_id = forms.CharField(label=_("image / card cover media_id"), max_length=128, required=False)
    product_id = forms.IntegerField(label=_("product id"), min_value=1, required=False)

    def clean(self):
        data = super().clean()
        if data.get("kind") == "text" and not (data.get("text") or "").strip() and data.get("canned"):
            data["text"] = data["canned"].text  # the canned reply as it stands
        return data

    def staff_message(self) -> StaffMessage:
        d = self.cleaned_data
        return StaffMessage(kind=d["kind"], text=d.get("text") or "", media_id=d.get("media_id") or "",
                            product_id=d.get("product_id"))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "cols": 70}))


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("assigned to"), required=False, empty_label=_("(nobody)"),
                                      queryset=get_user_model().objects.filter(is_staff=True, is_active=True))


class StateForm(forms.Form):
    state = forms.ChoiceField(label=_("state"), choices=Conversation.State.choices)


class MetricsForm(forms.Form):
    start = forms.DateField(label=_("from"))
    end = forms.DateField(label=_("to"))

    MAX_DAYS = 92

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and (end < start or (end - start).days >= self.MAX_DAYS):
            raise forms.ValidationError(_("Choose a range of 1 to 92 days, the end after the start."))
        return data
