from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as "1 h 02 min 05 s" / "2 min 05 s" / "40 s"; "-" when there is none."""
    if seconds is None:
        return "-"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return gettext("%(h)d h %(m)02d min %(s)02d s") % {"h": hours, "m": minutes, "s": secs}
    if minutes:
        return gettext("%(m)d min %(s)02d s") % {"m": minutes, "s": secs}
    return gettext("%(s)d s") % {"s": secs}


@register.filter
def percent(share) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


@register.filter
def lookup(mapping: dict, key):
    return mapping.get(key)
