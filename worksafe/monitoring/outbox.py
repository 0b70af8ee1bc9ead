"""The notification outbox dispatcher (发件箱): sends each pending `Notification` row through its channel.

Rows are written by the event that causes them, in its transaction (ingest raises, tick escalations), one
per recipient and channel with a unique key, so an event is never queued twice. The dispatcher:
1. claims a batch of due rows of one channel with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite has
   one writer at a time anyway), so two dispatchers never take the same row;
2. hands each row to the channel's adapter, and marks it sent (sent_at) in the same transaction — a row is
   sent once per channel; a crash between an external send and the commit is the only way an e-mail or
   SMS can go out twice, never zero times;
3. on failure counts the attempt and keeps the error, prefixed with the attempt's UTC time
   ("2026-11-29T08:00:00Z SMTPException: …"); after k failed attempts the next is due
   MONITORING_OUTBOX_BACKOFF_S × 2^(k−1) after the last one, up to MONITORING_OUTBOX_MAX_ATTEMPTS.
   (The ISO prefix sorts as text, so the due rows are selected in SQL without another column.)

Adapters: in_app (the inbox shows the row; sending only marks it), email (Django send_mail to the
recipient's address), sms (disabled unless MONITORING_SMS_SENDER names a callable(phone, text)).
Register another with `register(channel, adapter)`.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from worksafe.monitoring.models import Notification

log = logging.getLogger(__name__)
UTC = datetime.UTC



class GiveUp(Exception):
    """This row can never be sent on this channel (e.g. the recipient has no address): stop retrying."""


class Adapter:
    """One channel. `send` raises on failure (retried) or GiveUp (not retried)."""

    batch = 200

    def enabled(self) -> bool:
        return True

    def send(self, n: Notification) -> None:
        raise NotImplementedError


class InAppAdapter(Adapter):
    """The in-app inbox reads the rows themselves: delivery is marking them sent."""

    batch = 1000

    def send(self, n: Notification) -> None:
        return None


def _link(n: Notification) -> str:
    base = settings.SITE_URL.rstrip("/")
    return f"{base}{n.url}" if n.url else ""


class EmailAdapter(Adapter):
    batch = 50  # external: keep the window between sending and committing short

    def send(self, n: Notification) -> None:
        address = n.recipient.email
        if not address:
            raise GiveUp("recipient has no e-mail address")
        body = "\n\n".join(x for x in (n.body, _link(n)) if x)
        send_mail(n.title, body, None, [address], fail_silently=False)


class SmsAdapter(Adapter):
    """Sends through the callable named by MONITORING_SMS_SENDER (phone, text); disabled while unset."""

    batch = 50

    def sender(self):
        path = settings.MONITORING_SMS_SENDER
        return import_string(path) if path else None

    def enabled(self) -> bool:
        return bool(settings.MONITORING_SMS_SENDER)

    def send(self, n: Notification) -> None:
        phone = getattr(n.recipient, "phone", "")
        if not phone:
            raise GiveUp("recipient has no phone number")
        text = f"{n.title} {n.body}".strip()
        log.info("sms to %s: %s", phone[-4:].rjust(len(phone), "*"), text)
        self.sender()(phone, text)


ADAPTERS: dict[str, Adapter] = {"in_app": InAppAdapter(), "email": EmailAdapter(), "sms": SmsAdapter()}


def register(channel: str, adapter: Adapter) -> None:
    ADAPTERS[channel] = adapter


def max_attempts() -> int:
    return settings.MONITORING_OUTBOX_MAX_ATTEMPTS


STAMP = "%Y-%m-%dT%H:%M:%SZ"


def stamp(at: datetime.datetime) -> str:
    return at.astimezone(UTC).strftime(STAMP)


def due(now: datetime.datetime) -> Q:
    """Rows not yet sent whose next attempt is due: after k failures, backoff × 2^(k−1) after the last one."""
    base = settings.MONITORING_OUTBOX_BACKOFF_S
    q = Q(attempts=0)
    for k in range(1, max_attempts()):
        q |= Q(attempts=k, last_error__lt=stamp(now - datetime.timedelta(seconds=base * 2 ** (k - 1))))
    return Q(sent_at__isnull=True) & q


def dispatch(now: datetime.datetime | None = None, using: str = "default", channels=None,
             max_batches: int = 100) -> dict[str, int]:
    """Send what is due on every enabled channel; returns counts ("sent", "failed", "gave_up", "waiting:<ch>")."""
    counts: Counter = Counter()
    for channel, adapter in ADAPTERS.items():
        if channels and channel not in channels:
            continue
        if not adapter.enabled():
            waiting = Notification.objects.using(using).filter(channel=channel, sent_at__isnull=True).count()
            if waiting:
                counts[f"waiting:{channel}"] = waiting
            continue
        for _ in range(max_batches):
            done = _batch(channel, adapter, now or datetime.datetime.now(UTC), using, counts)
            if done < adapter.batch:
                break
    return dict(counts)


def _batch(channel: str, adapter: Adapter, now: datetime.datetime, using: str, counts: Counter) -> int:
    with transaction.atomic(using=using):
        rows = list(Notification.objects.using(using).select_for_update(skip_locked=True, of=("self",))
                    .select_related("recipient").filter(due(now), channel=channel).order_by("pk")[:adapter.batch])
        for n in rows:
            try:
                adapter.send(n)
            except GiveUp as exc:
                n.attempts, n.last_error = max_attempts(), f"{stamp(now)} {exc}"[:200]
                counts["gave_up"] += 1
            except Exception as exc:  # the channel failed: retry later with backoff
                n.attempts += 1
                n.last_error = f"{stamp(now)} {type(exc).__name__}: {exc}"[:200]
                counts["failed"] += 1
                log.warning("outbox %s #%s failed (attempt %s): %s", channel, n.pk, n.attempts, n.last_error)
            else:
                n.sent_at = now
                counts["sent"] += 1
        if rows:
            Notification.objects.using(using).bulk_update(rows, ["sent_at", "attempts", "last_error"])
    return len(rows)
