"""The notification outbox: every row sent once per channel, failures retried with backoff."""

import datetime
import threading
import time

import pytest
from django.core import mail
from django.db import connection, connections

from worksafe.monitoring import outbox
from worksafe.monitoring.models import Notification

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def queue(user, channel="in_app", key="alarm:1:raised", **extra):
    return Notification.objects.create(recipient=user, channel=channel, key=key, title="高报 LT-1001 1#储罐液位",
                                       body="16 m", url="/monitoring/alarms/1/", **extra)


class Flaky(outbox.Adapter):
    """Fails the first `failures` sends."""

    def __init__(self, failures):
        self.failures = failures
        self.sent = []

    def send(self, n):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway timeout")
        self.sent.append(n.pk)


@pytest.fixture
def adapters(monkeypatch):
    """A private copy of the registry, so a test can swap an adapter."""
    monkeypatch.setattr(outbox, "ADAPTERS", dict(outbox.ADAPTERS))
    return outbox.ADAPTERS


def test_in_app_rows_are_marked_sent_once(world):
    n = queue(world.ent_xm_staff)
    now = datetime.datetime.now(UTC)
    assert outbox.dispatch(now) == {"sent": 1}
    n.refresh_from_db()
    assert n.sent_at == now and n.attempts == 0
    assert outbox.dispatch(now + datetime.timedelta(minutes=1)) == {}


def test_email_goes_to_the_recipients_address_only_if_set(world, settings):
    settings.SITE_URL = "https://worksafe.example.cn"
    world.xm_officer.email = "xm@example.cn"
    world.xm_officer.save()
    sent = queue(world.xm_officer, channel="email")
    nowhere = queue(world.fz_officer, channel="email")
    now = datetime.datetime.now(UTC)
    assert outbox.dispatch(now) == {"sent": 1, "gave_up": 1}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["xm@example.cn"] and mail.outbox[0].subject == "高报 LT-1001 1#储罐液位"
    assert "https://worksafe.example.cn/monitoring/alarms/1/" in mail.outbox[0].body
    sent.refresh_from_db()
    nowhere.refresh_from_db()
    assert sent.sent_at == now
    assert nowhere.sent_at is None and nowhere.attempts == outbox.max_attempts()
    assert nowhere.last_error.endswith("recipient has no e-mail address")
    assert outbox.dispatch(now + datetime.timedelta(days=1)) == {}  # given up: never retried


def test_failures_are_retried_with_backoff_and_then_given_up(world, adapters, settings):
    settings.MONITORING_OUTBOX_BACKOFF_S = 30
    settings.MONITORING_OUTBOX_MAX_ATTEMPTS = 3
    flaky = adapters["in_app"] = Flaky(failures=3)
    n = queue(world.ent_xm_staff)
    t0 = datetime.datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)

    assert outbox.dispatch(t0) == {"failed": 1}
    n.refresh_from_db()
    assert (n.attempts, n.sent_at, n.last_error) == (1, None, "2026-11-29T08:00:00Z ConnectionError: gateway timeout")
    assert outbox.dispatch(t0 + datetime.timedelta(seconds=30)) == {}  # 30 s after the first failure: not yet
    assert outbox.dispatch(t0 + datetime.timedelta(seconds=31)) == {"failed": 1}
    assert outbox.dispatch(t0 + datetime.timedelta(seconds=31 + 60)) == {}  # the second wait doubles
    assert outbox.dispatch(t0 + datetime.timedelta(seconds=32 + 60)) == {"failed": 1}
    n.refresh_from_db()
    assert n.attempts == 3
    assert outbox.dispatch(t0 + datetime.timedelta(days=1)) == {}  # MONITORING_OUTBOX_MAX_ATTEMPTS reached
    assert flaky.sent == []


def test_a_row_that_fails_once_is_sent_on_the_retry(world, adapters):
    flaky = adapters["in_app"] = Flaky(failures=1)
    n = queue(world.ent_xm_staff)
    t0 = datetime.datetime.now(UTC)
    outbox.dispatch(t0)
    assert outbox.dispatch(t0 + datetime.timedelta(minutes=1)) == {"sent": 1}
    n.refresh_from_db()
    assert n.sent_at == t0 + datetime.timedelta(minutes=1) and n.attempts == 1 and flaky.sent == [n.pk]


def test_sms_waits_until_a_sender_is_configured(world, settings):
    world.xm_officer.phone = "13800000000"
    world.xm_officer.save()
    n = queue(world.xm_officer, channel="sms")
    assert outbox.dispatch() == {"waiting:sms": 1}
    n.refresh_from_db()
    assert n.sent_at is None and n.attempts == 0

    settings.MONITORING_SMS_SENDER = "worksafe.monitoring.tests.test_outbox.fake_sms"
    SENT_SMS.clear()
    assert outbox.dispatch() == {"sent": 1}
    assert SENT_SMS == [("13800000000", "高报 LT-1001 1#储罐液位 16 m")]


SENT_SMS: list = []


def fake_sms(phone, text):
    SENT_SMS.append((phone, text))


def test_only_the_named_channels_are_dispatched(world):
    queue(world.ent_xm_staff)
    queue(world.ent_xm_staff, channel="email", key="alarm:2:raised")
    assert outbox.dispatch(channels=["email"]) == {"gave_up": 1}
    assert Notification.objects.filter(channel="in_app", sent_at__isnull=True).count() == 1


def test_dispatch_works_through_large_queues_in_batches(world, adapters):
    class Small(outbox.InAppAdapter):
        batch = 7

    adapters["in_app"] = Small()
    Notification.objects.bulk_create([
        Notification(recipient=world.ent_xm_staff, key=f"alarm:{k}:raised", title="t") for k in range(30)])
    assert outbox.dispatch() == {"sent": 30}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatchers_racing_never_send_a_row_twice(world, adapters):
    sends: list[tuple[str, int]] = []
    lock = threading.Lock()

    class Slow(outbox.Adapter):
        batch = 10

        def send(self, n):
            time.sleep(0.01)  # keep the batch's rows locked while the other dispatcher looks
            with lock:
                sends.append((threading.current_thread().name, n.pk))

    adapters["in_app"] = Slow()
    Notification.objects.bulk_create([
        Notification(recipient=world.ent_xm_staff, key=f"alarm:{k}:raised", title="t") for k in range(120)])
    start = threading.Barrier(2)
    errors = []

    def run():
        try:
            start.wait()
            outbox.dispatch(channels=["in_app"])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, name=f"dispatcher-{k}") for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    ids = [pk for _name, pk in sends]
    assert len(ids) == 120 and len(set(ids)) == 120
    assert {name for name, _pk in sends} == {"dispatcher-0", "dispatcher-1"}  # both did work, none twice
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0
