"""Live events for the board: alarms raised, cleared, acknowledged … reach every browser whose scope
covers them. PostgreSQL: NOTIFY on channel `worksafe_live` inside the writing transaction (delivered on
commit, to every web process LISTENing). SQLite: an in-process broadcast after commit.
"""

from __future__ import annotations

import json
import threading

from django.db import connections, transaction

CHANNEL = "worksafe_live"
_local_lock = threading.Lock()
_local_subscribers: list = []  # callables taking the event dict (SQLite / same-process delivery)


def publish(event: dict, using: str = "default") -> None:
    """Queue `event` for delivery when the current transaction commits (never before)."""
    conn = connections[using]
    text = json.dumps(event, ensure_ascii=False, default=str)
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("SELECT pg_notify(%s, %s)", [CHANNEL, text])
    else:
        transaction.on_commit(lambda: _broadcast(json.loads(text)), using=using)


def _broadcast(event: dict) -> None:
    with _local_lock:
        subscribers = list(_local_subscribers)
    for callback in subscribers:
        callback(event)


def add_local_subscriber(callback) -> None:
    with _local_lock:
        _local_subscribers.append(callback)


def remove_local_subscriber(callback) -> None:
    with _local_lock:
        if callback in _local_subscribers:
            _local_subscribers.remove(callback)
