"""Live events: bounded subscriptions, delivery only after commit, and PostgreSQL LISTEN/NOTIFY across
transactions and connections."""

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from worksafe.monitoring import live
from worksafe.monitoring.ingest import Ingestor, Message
from worksafe.monitoring.testing import make_gateway, make_point, payload

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")


@pytest.fixture(autouse=True)
def _no_listener_left():
    yield
    live.stop_listeners()  # a LISTENing connection would keep the test database from being dropped


def test_subscription_hands_over_everything_waiting_at_once():
    sub = live.Subscription(maxlen=10)
    sub.put({"n": 1})
    sub.put({"n": 2})
    assert sub.get(timeout=0) == ([{"n": 1}, {"n": 2}], 0)
    assert sub.get(timeout=0) == ([], 0)


def test_a_slow_reader_loses_the_oldest_events_and_is_told_how_many():
    sub = live.Subscription(maxlen=3)
    for n in range(5):
        sub.put({"n": n})
    events, dropped = sub.get(timeout=0)
    assert [e["n"] for e in events] == [2, 3, 4]
    assert dropped == 2
    sub.put({"n": 5})
    assert sub.get(timeout=0) == ([{"n": 5}], 0)  # the count is reported once


def test_a_waiting_reader_wakes_up_when_another_thread_puts():
    sub = live.Subscription()
    threading.Timer(0.05, sub.put, args=[{"n": 1}]).start()
    started = time.monotonic()
    events, _dropped = sub.get(timeout=5)
    assert events == [{"n": 1}]
    assert time.monotonic() - started < 2


def test_an_async_reader_wakes_up_when_another_thread_puts():
    sub = live.Subscription()

    async def read():
        sub.bind_loop()
        threading.Timer(0.05, sub.put, args=[{"n": 1}]).start()
        first = await sub.aget(timeout=5)
        quiet = await sub.aget(timeout=0.05)
        return first, quiet

    started = time.monotonic()
    first, quiet = async_to_sync(read)()
    assert first == ([{"n": 1}], 0)
    assert quiet == ([], 0)
    assert time.monotonic() - started < 2


def test_async_reader_gets_an_event_put_from_its_own_loop():
    sub = live.Subscription()

    async def read():
        sub.bind_loop()
        asyncio.get_running_loop().call_later(0.02, sub.put, {"n": 7})
        return await sub.aget(timeout=5)

    assert async_to_sync(read)() == ([{"n": 7}], 0)


def test_unsubscribed_reader_gets_nothing_more():
    sub = live.subscribe()
    live.dispatch({"n": 1})
    live.unsubscribe(sub)
    live.dispatch({"n": 2})
    assert sub.get(timeout=0) == ([{"n": 1}], 0)


def test_a_failing_subscriber_does_not_stop_delivery_to_the_others():
    def broken(event):
        raise RuntimeError("boom")

    live.add_local_subscriber(broken)
    sub = live.subscribe()
    try:
        live.dispatch({"n": 1})
        assert sub.get(timeout=0) == ([{"n": 1}], 0)
    finally:
        live.remove_local_subscriber(broken)
        live.unsubscribe(sub)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's in-process path")
def test_sqlite_publish_reaches_subscribers_after_commit_only(django_capture_on_commit_callbacks):
    sub = live.subscribe()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            live.publish({"type": "alarm", "id": 1})
            assert sub.get(timeout=0) == ([], 0)  # not before the commit
        assert sub.get(timeout=0) == ([{"type": "alarm", "id": 1}], 0)
    finally:
        live.unsubscribe(sub)


def _excursion_site(world):
    gw = make_gateway(world.ent_xm)
    make_point(world.ent_xm, "LT-1001", gateway=gw)
    t = int(time.time() * 1000) - 5_000
    return Message(payload("GW01", 1, [("LT-1001", t, 5.0), ("LT-1001", t + 1000, 19.0)]), source="test",
                   credit_code=world.ent_xm.credit_code, gateway_code="GW01")


@on_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_notify_from_an_ingest_transaction_reaches_the_listener(world):
    message = _excursion_site(world)
    assert live.ensure_listener() is True
    sub = live.subscribe()
    try:
        Ingestor().process([message])  # commits: NOTIFY is delivered then, over the listener's own connection
        events = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(events) < 2:
            events += sub.get(timeout=0.5)[0]
        raised = sorted((e["condition"], e["level"], e["change"]) for e in events if e["type"] == "alarm")
        assert raised == [("H", 1, "raised"), ("HH", 2, "raised")]
        assert {e["enterprise_id"] for e in events} == {world.ent_xm.pk}
        assert {e["county"] for e in events} == {"350203"}
    finally:
        live.unsubscribe(sub)


@on_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_nothing_is_notified_for_a_rolled_back_transaction():
    from django.db import transaction

    assert live.ensure_listener() is True
    sub = live.subscribe()
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            live.publish({"type": "alarm", "id": 99})
            raise RuntimeError("roll back")
        live.publish({"type": "alarm", "id": 100})  # autocommit: sent at once
        events = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not events:
            events += sub.get(timeout=0.5)[0]
        assert [e["id"] for e in events] == [100]
    finally:
        live.unsubscribe(sub)


@on_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_listener_reconnects_after_its_connection_is_killed_and_asks_for_a_resync():
    assert live.ensure_listener() is True
    sub = live.subscribe()
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'worksafe-live' AND datname = current_database()")
        events = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and {"type": "resync"} not in events:
            events += sub.get(timeout=0.5)[0]
        assert {"type": "resync"} in events
        assert live.ensure_listener() is True
        live.publish({"type": "alarm", "id": 5})
        later = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not later:
            later += sub.get(timeout=0.5)[0]
        assert later == [{"type": "alarm", "id": 5}]
    finally:
        live.unsubscribe(sub)
