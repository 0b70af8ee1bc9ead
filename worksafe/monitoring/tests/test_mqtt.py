"""The MQTT ingest worker against the real broker (127.0.0.1:1883; .ci/run starts it): stored once, alarms
once, acknowledged only after the commit, redelivered to the next session when processing failed.

Every test uses its own enterprise credit code (so its own topics), client ids and shared-subscription group,
and discards its broker sessions at the end, so parallel runs on one broker do not see each other.
"""

import json
import secrets
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from django.db import connections

from worksafe.core.testing import build_credit_code, make_enterprise
from worksafe.enterprises.rules import CREDIT_CODE_CHARSET
from worksafe.monitoring import store
from worksafe.monitoring.choices import AlarmStatus
from worksafe.monitoring.models import Alarm, DeadLetter
from worksafe.monitoring.mqtt import Worker, check_health
from worksafe.monitoring.testing import make_gateway, make_point, payload

BROKER = ("127.0.0.1", 1883)
DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker thread has its own connection


def _broker_up() -> bool:
    import socket

    try:
        socket.create_connection(BROKER, timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def _broker():
    if not _broker_up():
        pytest.fail("no MQTT broker on 127.0.0.1:1883: start Mosquitto (.ci/run does: mosquitto -d -c "
                    "/etc/mosquitto/mosquitto.conf)")


@pytest.fixture
def site():
    tag = "".join(secrets.choice(CREDIT_CODE_CHARSET[:-5]) for _ in range(8))
    ent = make_enterprise("MQTT测试企业", "350203", credit_code=build_credit_code("350203", "W" + tag))
    gw = make_gateway(ent)
    make_point(ent, "LT-1001", gateway=gw)  # H 15, HH 18, deadband 0.2
    make_point(ent, "GT-2001", gateway=gw, name="可燃气体", kind="flammable_gas", unit="%LEL", range_low=0,
               range_high=100, low_low=None, low=None, high=25, high_high=50, deadband=1)
    ids = []
    yield ent, gw, tag, ids
    for client_id in ids:  # leave no persistent session behind on the shared broker
        discard_session(client_id)


def discard_session(client_id: str) -> None:
    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=mqtt.MQTTv5)
    c.connect(*BROKER, clean_start=True)  # session expiry 0: the broker drops the session on disconnect
    c.loop_start()
    time.sleep(0.1)
    c.disconnect()
    c.loop_stop()


def publish(ent, messages: list[bytes], gateway: str = "GW01") -> None:
    """QoS 1; returns once the broker acknowledged every message (PUBACK)."""
    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{secrets.token_hex(6)}")
    c.connect(*BROKER)
    c.loop_start()
    infos = [c.publish(f"worksafe/v1/{ent.credit_code}/{gateway}/data", m, qos=1) for m in messages]
    for i in infos:
        i.wait_for_publish(10)
    assert all(i.is_published() for i in infos)
    c.disconnect()
    c.loop_stop()


class Running:
    """A worker in a thread (its own DB connection), stopped and disconnected on exit. While it runs, the test
    looks at the worker's counters, not the database (SQLite's shared in-memory test database locks tables)."""

    def __init__(self, site, tag_suffix="a", **options):
        ent, _gw, tag, ids = site
        client_id = f"test-ingest-{tag}-{tag_suffix}"
        ids.append(client_id)
        self.worker = Worker(f"{BROKER[0]}:{BROKER[1]}", client_id=client_id, group=f"test-{tag}",
                             topic=f"worksafe/v1/{ent.credit_code}/+/data", session_expiry=120,
                             max_wait_ms=5, **options)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.worker.run()
        finally:
            connections.close_all()

    def __enter__(self) -> Worker:
        self.worker.start(wait=10)
        assert self.worker.subscribed.is_set()
        self.thread.start()
        return self.worker

    def __exit__(self, *exc):
        self.worker.stop()
        self.thread.join(30)
        self.worker.close()


def wait_for(condition, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def stored(gw) -> list[tuple]:
    out = []
    for _g, seq, _digest, rec in store.stored_messages(gw.pk):
        out += [(seq, *r) for r in rec.tolist()]
    return out


@DB
def test_stored_once_alarm_once_with_duplicates_and_reordering(site):
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    m = {seq: payload("GW01", seq, [("LT-1001", t + seq * 1000, v), ("GT-2001", t + seq * 1000, 3.0)])
         for seq, v in [(1, 10.0), (2, 10.0), (3, 10.0), (4, 16.0), (5, 10.0)]}
    # Out of order, a redelivered copy of 2 and of 3, and one garbage message.
    sent = [m[1], m[3], m[2], m[2], m[5], m[4], m[3], b"not json"]
    with Running(site) as worker:
        publish(ent, sent)
        assert wait_for(lambda: worker.stats.messages == len(sent)), worker.stats
    s = worker.stats
    assert (s.stored, s.duplicates, s.rejected) == (5, 2, 1)
    rows = stored(gw)
    assert len(rows) == 10 and len({r[:3] for r in rows}) == 10  # (seq, point, ts) once each
    gw.refresh_from_db()
    assert (gw.first_seq, gw.max_seq, gw.received, gw.missing) == (1, 5, 5, 0)
    alarms = list(Alarm.objects.filter(point__enterprise=ent))
    assert [(a.condition, a.raise_value, a.status) for a in alarms] == [("H", 16.0, AlarmStatus.CLEARED_UNACK)]
    assert DeadLetter.objects.filter(reason="invalid_json", source__contains=ent.credit_code).count() == 1


@DB
def test_everything_acknowledged_nothing_redelivered(site):
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    sent = [payload("GW01", seq, [("LT-1001", t + seq, 5.0)]) for seq in range(1, 41)]
    with Running(site, queue_size=4, max_batch=3) as worker:  # a tiny window: backpressure, many batches
        publish(ent, sent)
        assert wait_for(lambda: worker.stats.messages == 40), worker.stats
        assert worker.stats.batches >= 14
    assert len(store.stored_messages(gw.pk)) == 40
    with Running(site) as again:  # the same client id resumes the session: nothing is left un-acknowledged
        time.sleep(1.5)
        assert again.stats.messages == 0 and again.queue.qsize() == 0


class FailingIngestor:
    """Stands in for a database that is down: process() raises, nothing commits."""

    def __init__(self):
        self.calls = 0
        self.last = {}

    def process(self, messages):
        self.calls += 1
        from django.db import OperationalError

        raise OperationalError("connection refused (simulated)")

    def flush_last_values(self, force=False):
        return 0


@DB
def test_not_acknowledged_when_processing_fails_and_redelivered_to_the_next_session(site, tmp_path, monkeypatch):
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    sent = [payload("GW01", seq, [("LT-1001", t + seq * 1000, 16.0 if seq == 3 else 5.0)]) for seq in range(1, 6)]
    health = tmp_path / "ingest.json"
    failing = FailingIngestor()
    monkeypatch.setattr(Worker, "BACKOFF_FIRST_S", 0.05)
    with Running(site, ingestor=failing, health_file=health) as worker:
        publish(ent, sent)
        assert wait_for(lambda: failing.calls >= 3)  # retried with backoff, the same batch
        assert worker.stats.messages == 0 and worker.stats.db_errors >= 3
        assert wait_for(lambda: json.loads(health.read_text())["status"] == "unhealthy")
        ok, why = check_health(health)
        assert not ok and "OperationalError" in why
    assert len(store.stored_messages(gw.pk)) == 0
    with Running(site, health_file=health) as worker:  # same client id: the broker redelivers all five
        assert wait_for(lambda: worker.stats.messages == 5), worker.stats
        assert worker.stats.stored == 5
        assert wait_for(lambda: check_health(health)[0])
    assert len(store.stored_messages(gw.pk)) == 5
    assert Alarm.objects.filter(point__enterprise=ent).count() == 1


@DB
def test_crash_after_commit_redelivery_is_a_duplicate_without_a_second_alarm(site):
    """A worker that committed but never acknowledged (it died): the redelivered copies are duplicates."""
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    sent = [payload("GW01", seq, [("LT-1001", t + seq * 1000, 16.0 if seq == 2 else 5.0)]) for seq in range(1, 4)]
    with Running(site) as worker:
        worker._ack = lambda batch: None  # commits, then "dies" before PUBACK
        publish(ent, sent)
        assert wait_for(lambda: worker.stats.stored == 3), worker.stats  # committed (counted after the ack step)
        assert worker.stats.messages == 0
    assert len(store.stored_messages(gw.pk)) == 3
    assert Alarm.objects.filter(point__enterprise=ent).count() == 1
    with Running(site) as worker:
        assert wait_for(lambda: worker.stats.messages == 3), worker.stats
        assert (worker.stats.stored, worker.stats.duplicates) == (0, 3)
    assert len(store.stored_messages(gw.pk)) == 3
    assert Alarm.objects.filter(point__enterprise=ent).count() == 1
    gw.refresh_from_db()
    assert gw.received == 3


@DB
def test_two_workers_share_one_subscription(site):
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    sent = [payload("GW01", seq, [("LT-1001", t + seq, 5.0)]) for seq in range(1, 61)]
    with Running(site, "a") as a, Running(site, "b") as b:
        publish(ent, sent)
        assert wait_for(lambda: a.stats.messages + b.stats.messages == 60), (a.stats, b.stats)
        assert a.stats.messages > 0 and b.stats.messages > 0  # the broker spread the messages over both
    assert len(store.stored_messages(gw.pk)) == 60
    gw.refresh_from_db()
    assert (gw.received, gw.missing) == (60, 0)


class _Client:
    def __init__(self):
        self.acks = []

    def ack(self, mid, qos):
        self.acks.append((mid, qos))


def test_messages_of_an_earlier_connection_are_not_acknowledged_on_a_later_one():
    """After a reconnect the broker redelivers un-acknowledged messages, and a packet id of the old connection may
    already name another message: only messages received on the current connection are acknowledged, once."""
    worker = Worker(client_id="unit-test")
    worker.client = _Client()
    worker.generation = 3
    batch = [("t", b"a", 7, 1, 3), ("t", b"b", 8, 1, 2), ("t", b"a", 7, 1, 3), ("t", b"c", 9, 1, 3)]
    worker._ack(batch)
    assert worker.client.acks == [(7, 1), (9, 1)]
    assert (worker.stats.messages, worker.stats.stale_skipped) == (2, 1)
