"""Personal data by section (PIPL): what the customer's export holds and what erasure
removes, one registered section per kind of data.

Each app that keeps personal data has a `privacy.py` that registers its sections (imported at
start-up by `wxbackend.apps`); an app added later (the inbox, notices) registers its own and
the export and erasure take it in with no change here. A section's `export` returns
JSON-ready data for one data subject; its `erase` deletes or anonymises that subject's data
and must be idempotent (erasure may run again, and runs inside one transaction).

A data subject is the mini-program customer together with the official-account followers of
the same unionid: one person across both apps.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps


@dataclass(frozen=True)
class DataSubject:
    customer_id: int
    openid: str  # the mini-program's ("" once erased)
    unionid: str
    follower_openids: tuple[str, ...]  # the official account's, linked by unionid


@dataclass(frozen=True)
class Section:
    name: str
    export: Callable[[DataSubject], Any] | None
    erase: Callable[[DataSubject], None] | None
    order: int


SECTIONS: dict[str, Section] = {}


def section_register(name: str, *, export: Callable | None = None, erase: Callable | None = None,
                     order: int = 100) -> None:
    """Register (or replace) the section `name`; sections run by `order`, then name."""
    SECTIONS[name] = Section(name=name, export=export, erase=erase, order=order)


def _sections() -> list[Section]:
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.name))


def follower_openids(*, unionid: str) -> tuple[str, ...]:
    """The official-account openids of `unionid` (none without a unionid or the app)."""
    if not unionid:
        return ()
    try:
        follower_model = apps.get_model("officialaccount", "Follower")
    except LookupError:
        return ()
    return tuple(follower_model.objects.filter(unionid=unionid).order_by("id").values_list("openid", flat=True))


def data_subject(customer) -> DataSubject:
    return DataSubject(
        customer_id=customer.pk, openid=customer.openid or "", unionid=customer.unionid,
        follower_openids=follower_openids(unionid=customer.unionid),
    )


def personal_data_export(subject: DataSubject) -> dict:
    """Every registered section's data for `subject`, by section name."""
    return {s.name: s.export(subject) for s in _sections() if s.export is not None}


def personal_data_erase(subject: DataSubject) -> None:
    """Run every registered section's erasure for `subject` (the caller holds the transaction)."""
    for s in _sections():
        if s.erase is not None:
            s.erase(subject)
