"""Rows the whole project shares: the outbox of side effects (see `wxbackend/outbox.py`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxItem(models.Model):
    """A side effect (a Celery task and its arguments) recorded in the transaction that
    caused it, and handed to Celery by the relay until a worker has done it once.

    `available_at` is when the relay next looks at the row: for a pending row, when to
    publish it; for a dispatched or running one, when to give it up for lost and publish
    it again."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DISPATCHED = "dispatched", _("handed to Celery")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    key = models.CharField(_("key"), max_length=200, unique=True)
    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    available_at = models.DateTimeField(_("next look"))
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("last handed to Celery"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("side effect")
        verbose_name_plural = _("side effects")
        indexes = [
            # The relay's one query: unfinished rows that are due.
            models.Index(
                fields=["available_at"], name="wxbackend_outbox_due",
                condition=models.Q(status__in=["pending", "dispatched", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return self.key
