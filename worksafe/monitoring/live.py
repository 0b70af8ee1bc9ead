"""Live events for the board: alarms raised, cleared, acknowledged … reach every browser whose scope
covers them. PostgreSQL: NOTIFY on channel `worksafe_live` inside the writing transaction (delivered on
commit, to every web process LISTENing). SQLite: an in-process broadcast after commit.

Receiving side (one per web process):
- `subscribe()` gives a `Subscription`: a bounded queue that a Server-Sent Events stream reads, from a
  thread (`get`, WSGI) or from the event loop (`aget`, ASGI). A slow reader loses the oldest events and is
  told so (`dropped`), so that it can reload its state instead of showing a wrong picture.
- PostgreSQL: one listener thread per process and database holds a dedicated psycopg connection (not
  Django's) that LISTENs on CHANNEL and hands each notification to every subscriber. It reconnects after
  a failure and then tells every subscriber to resync (notifications sent meanwhile are lost); it stops
  by itself when nobody has subscribed for LISTENER_IDLE_S.
- SQLite: `publish()` hands the event to the subscribers of this process after commit (same process only).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque

from django.db import connections, transaction

log = logging.getLogger(__name__)

CHANNEL = "worksafe_live"
QUEUE_MAX = 256  # events a subscriber may have waiting before the oldest are dropped
LISTENER_IDLE_S = 60.0  # a listener with no subscriber for this long disconnects
RESYNC = {"type": "resync"}

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


_generation = 0  # events dispatched in this process so far: figures cached under it are still current


def generation() -> int:
    return _generation


def _broadcast(event: dict) -> None:
    global _generation
    with _local_lock:
        _generation += 1
        subscribers = list(_local_subscribers)
    for callback in subscribers:
        try:
            callback(event)
        except Exception:  # one broken subscriber must not starve the others
            log.exception("live subscriber failed")


dispatch = _broadcast  # public name: hand an event to this process's subscribers now (tests, listener)


def add_local_subscriber(callback) -> None:
    with _local_lock:
        _local_subscribers.append(callback)


def remove_local_subscriber(callback) -> None:
    with _local_lock:
        if callback in _local_subscribers:
            _local_subscribers.remove(callback)


# --- subscriptions ---------------------------------------------------------------------------------------

class Subscription:
    """A bounded queue of live events for one reader (one SSE connection).

    `put` may be called from any thread. A reader takes everything waiting at once with `get` (blocking, in
    a thread) or `aget` (awaiting, on the event loop the subscription was bound to). When more than
    `maxlen` events wait, the oldest are dropped and counted; the reader sees the count and must resync.
    """

    def __init__(self, maxlen: int | None = None):
        self.maxlen = maxlen or QUEUE_MAX
        self._cond = threading.Condition()
        self._items: deque = deque()
        self._dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None

    def __call__(self, event: dict) -> None:
        self.put(event)

    def put(self, event: dict) -> None:
        with self._cond:
            if len(self._items) >= self.maxlen:
                self._items.popleft()
                self._dropped += 1
            self._items.append(event)
            self._cond.notify_all()
            loop, wakeup = self._loop, self._wakeup
        if loop is not None:
            try:
                loop.call_soon_threadsafe(wakeup.set)
            except RuntimeError:  # the loop is closed: the reader is gone
                pass

    def _take(self) -> tuple[list[dict], int]:
        items, dropped = list(self._items), self._dropped
        self._items.clear()
        self._dropped = 0
        return items, dropped

    def get(self, timeout: float) -> tuple[list[dict], int]:
        """(events, number dropped since the last call); waits up to `timeout` s for the first event."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            return self._take()

    def bind_loop(self) -> None:
        """Let `aget` be awaited on the running event loop."""
        loop = asyncio.get_running_loop()
        with self._cond:
            self._loop, self._wakeup = loop, asyncio.Event()

    async def aget(self, timeout: float) -> tuple[list[dict], int]:
        """`get` for the event loop (call `bind_loop` first)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if self._items:
                    return self._take()
                self._wakeup.clear()  # a put() after this schedules set() behind us: no lost wakeup
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with self._cond:
                    return self._take()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                pass


def subscribe(using: str = "default", maxlen: int | None = None) -> Subscription:
    """A new subscription to this process's live events (on PostgreSQL, the listener is started too)."""
    sub = Subscription(maxlen or QUEUE_MAX)
    add_local_subscriber(sub)
    if connections[using].vendor == "postgresql":
        ensure_listener(using, wait=False)
    return sub


def unsubscribe(sub: Subscription) -> None:
    remove_local_subscriber(sub)


def subscriber_count() -> int:
    with _local_lock:
        return len(_local_subscribers)


# --- PostgreSQL listener -----------------------------------------------------------------------------------

class _Listener(threading.Thread):
    """LISTEN on CHANNEL over a dedicated connection; every notification goes to `dispatch`."""

    POLL_S = 1.0

    def __init__(self, using: str):
        super().__init__(name=f"worksafe-live-{using}", daemon=True)
        self.using = using
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.params = _conn_params(using)

    def run(self) -> None:
        import psycopg

        failures = 0
        idle_since = time.monotonic()
        while not self.stopping.is_set():
            try:
                with psycopg.connect(**self.params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if failures:  # anything sent while we were away is lost: readers must reload
                        dispatch(dict(RESYNC))
                    failures = 0
                    self.ready.set()
                    while not self.stopping.is_set():
                        for note in conn.notifies(timeout=self.POLL_S):
                            try:
                                event = json.loads(note.payload)
                            except ValueError:
                                log.warning("live: ignored a notification that is not JSON")
                                continue
                            dispatch(event)
                        if subscriber_count():
                            idle_since = time.monotonic()
                        elif time.monotonic() - idle_since > LISTENER_IDLE_S and self._retire():
                            log.info("live: no subscribers, listener stops")
                            return
            except Exception as exc:  # connection lost or refused: retry with backoff
                failures += 1
                self.ready.clear()
                log.warning("live: listener connection failed (%s), retrying", exc)
                self.stopping.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
            finally:
                self.ready.clear()

    def _retire(self) -> bool:
        """Leave if still nobody listens (under the lock ensure_listener takes, so no subscriber is missed)."""
        with _listeners_lock:
            if subscriber_count():
                return False
            self.stopping.set()
            if _listeners.get(self.using) is self:
                del _listeners[self.using]
            return True


_listeners: dict[str, _Listener] = {}
_listeners_lock = threading.Lock()


def _conn_params(using: str) -> dict:
    """psycopg connect() keywords for the database `using` points at (its test name under tests)."""
    s = connections[using].settings_dict
    params = {"dbname": s.get("NAME"), "user": s.get("USER"), "password": s.get("PASSWORD"),
              "host": s.get("HOST"), "port": s.get("PORT")}
    passthrough = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "options", "service",
                   "passfile", "target_session_attrs")
    params.update({k: v for k, v in (s.get("OPTIONS") or {}).items() if k in passthrough})
    params["application_name"] = "worksafe-live"
    return {k: v for k, v in params.items() if v not in (None, "")}


def ensure_listener(using: str = "default", *, wait: bool = True, timeout: float = 5.0) -> bool:
    """Start this process's listener for `using` if it is not running (PostgreSQL; a no-op otherwise).

    With `wait`, return once LISTEN is in place, so that nothing committed after this call is missed.
    """
    if connections[using].vendor != "postgresql":
        return True
    for _attempt in range(2):  # a listener may stop for idleness just as we ask: then start a new one
        with _listeners_lock:
            listener = _listeners.get(using)
            if listener is None or not listener.is_alive() or listener.stopping.is_set():
                listener = _listeners[using] = _Listener(using)
                listener.start()
        if not wait:
            return listener.ready.is_set()
        if listener.ready.wait(timeout):
            return True
        if listener.is_alive():
            return False  # still trying to connect (the database is down?)
    return False


def stop_listeners(timeout: float = 5.0) -> None:
    """Stop every listener of this process and close their connections (tests, shutdown)."""
    with _listeners_lock:
        listeners = list(_listeners.values())
        _listeners.clear()
    for listener in listeners:
        listener.stopping.set()
    for listener in listeners:
        listener.join(timeout)
