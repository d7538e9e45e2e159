"""Money at the edges: integer fen inside, "¥129.00" only where people read or type it
(the admin, notices). The one place yuan exists; input is parsed as digits, never float."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

_YUAN = re.compile(r"([0-9]{1,16})(?:\.([0-9]{1,2}))?")


def yuan(fen: int | None, *, grouping: bool = True) -> str:
    """`12900` → `"¥129.00"`; None → `"-"`. Thousands are grouped (`¥1,290.00`) unless
    `grouping=False`: WeChat's `amount` keyword takes digits only (spec 5.2)."""
    if fen is None:
        return "-"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}" if grouping else f"{sign}¥{whole}.{cents:02d}"


def yuan_to_fen(text: str) -> int:
    """`"129"`, `"129.5"`, `"¥1,129.00"` → fen, exactly (no float on the way); ValueError
    for anything else: more than two decimals, a sign, an exponent, over 16 digits."""
    match = _YUAN.fullmatch(text.strip().removeprefix("¥").replace(",", "").strip())
    if match is None:
        raise ValueError("not an amount in yuan with at most two decimals")
    whole, cents = match.groups()
    return int(whole) * 100 + int((cents or "").ljust(2, "0"))


class YuanField(forms.Field):
    """A form field that shows fen as yuan ("129.00") and stores what is typed as fen."""

    default_error_messages = {
        "invalid": _("Enter an amount in yuan with at most two decimals, for example 129.00."),
        "min_value": _("Enter at least %(limit)s."),
    }

    widget = forms.TextInput(attrs={"inputmode": "decimal", "size": 10})

    def __init__(self, *, min_fen: int = 0, **kwargs):
        self.min_fen = min_fen
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value // 100}.{value % 100:02d}"
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            fen = yuan_to_fen(str(value))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if fen < self.min_fen:
            raise ValidationError(self.error_messages["min_value"], code="min_value",
                                  params={"limit": yuan(self.min_fen)})
        return fen


class YuanAdminMixin:
    """Admin (ModelAdmin or inline) mixin: every `*_fen` model field is entered in yuan."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name.endswith("_fen") and db_field.editable:
            limits = [v.limit_value for v in db_field.validators if isinstance(v, MinValueValidator)]
            return YuanField(
                label=capfirst(db_field.verbose_name),
                help_text=_("In yuan, for example 129.00."),
                required=not db_field.blank,
                min_fen=max(limits, default=0),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)
