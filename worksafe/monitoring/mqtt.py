"""The MQTT ingest worker (`worksafe ingest`): at-least-once from the broker, exactly once in the database.

    broker ──PUBLISH(QoS 1)──▶ network thread ──▶ bounded queue ──▶ main thread: micro-batch
                                                                    Ingestor.process() → COMMIT
    broker ◀──────────────── PUBACK for every message of the batch ◀┘

- One fixed client id per worker with a persistent session (MQTT v5: clean_start=False and a session
  expiry; 3.1.1: clean_session=False), subscribed to the shared subscription
  `$share/<group>/worksafe/v1/+/+/data` with QoS 1. Several workers with different client ids in one
  group share the load; the broker queues a worker's messages while it is away.
- `on_message` only puts (topic, payload, mid, connection generation) on a bounded queue. When the queue
  is full the network thread blocks, the socket is no longer read, and the broker stops sending
  (TCP backpressure; besides, the broker never has more un-acknowledged messages in flight to us than
  the inflight window, see docs/telemetry.md). Memory stays bounded.
- The main thread takes up to `max_batch` messages (waiting at most `max_wait_ms` after the first),
  hands them to `Ingestor.process()` and acknowledges every message of the batch after it returned,
  i.e. after COMMIT — whatever the outcome (stored, duplicate, rejected: all of them are recorded in
  the database). A message that arrived on an earlier connection is never acknowledged on a later one:
  the broker redelivers it on the new connection (with the same packet id, which by then may name
  another message), and that copy is acknowledged instead.
- A database error: nothing is acknowledged, the connection is closed, the worker backs off
  (exponential, capped) and retries the same batch; meanwhile it reports itself unhealthy in the log
  and in its health file. The broker keeps the un-acknowledged messages for the session.
- SIGTERM/SIGINT: the current batch is finished and acknowledged, then the worker disconnects; messages
  still queued in memory are not acknowledged, so the broker redelivers them to the next session.

Test hook (fault-injection tests only, see docs/telemetry.md): the environment variable
`WORKSAFE_FAULT=crash_after_commit:N` makes the worker kill itself with SIGKILL right after the N-th batch
committed and before it is acknowledged; `crash_before_commit:N` kills it inside the N-th batch's
transaction, after the rows were written and before COMMIT.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import Error as DatabaseError
from django.db import connections, transaction

from worksafe.monitoring.ingest import Ingestor, Message, parse_topic

log = logging.getLogger(__name__)

TOPIC = "worksafe/v1/+/+/data"
DEFAULT_GROUP = "worksafe-ingest"


def default_client_id() -> str:
    return f"worksafe-ingest-{socket.gethostname()}"


def parse_broker(text: str) -> tuple[str, int]:
    host, _sep, port = text.rpartition(":")
    if not host:
        return text, 1883
    return host.strip("[]"), int(port)


@dataclass
class Stats:
    messages: int = 0  # acknowledged
    batches: int = 0
    readings: int = 0  # stored (new)
    stored: int = 0  # messages stored (incl. partial)
    duplicates: int = 0
    rejected: int = 0  # rejected or conflict (dead-lettered)
    db_errors: int = 0
    stale_skipped: int = 0  # committed messages of an earlier connection, left for redelivery
    outcomes: dict = field(default_factory=dict)


class Fault:
    """WORKSAFE_FAULT=crash_after_commit:N | crash_before_commit:N (test hook for the fault tests)."""

    def __init__(self, spec: str | None):
        self.kind, self.at = None, 0
        if spec:
            kind, _sep, n = spec.partition(":")
            if kind not in ("crash_after_commit", "crash_before_commit"):
                raise ValueError(f"unknown WORKSAFE_FAULT {spec!r}")
            self.kind, self.at = kind, int(n or 1)
        self.batches = 0

    def due(self, kind: str) -> bool:
        return self.kind == kind and self.batches == self.at

    @staticmethod
    def crash() -> None:
        log.warning("WORKSAFE_FAULT: killing the worker (SIGKILL)")
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)


class Worker:
    """One ingest worker. `start()` connects; `run()` processes until `stop()` (or `run(until=…)`)."""

    BACKOFF_FIRST_S = 0.5
    BACKOFF_MAX_S = 30.0
    HEALTH_EVERY_S = 1.0
    STALL_S = 30.0  # a batch waiting on the database this long makes the worker report itself unhealthy

    def __init__(self, broker: str = "127.0.0.1:1883", *, client_id: str | None = None,
                 group: str = DEFAULT_GROUP, topic: str = TOPIC, max_batch: int = 500, max_wait_ms: int = 20,
                 queue_size: int = 2000, protocol: int = 5, session_expiry: int = 7 * 86400,
                 receive_maximum: int | None = None, keepalive: int = 30, using: str = "default",
                 health_file: str | Path | None = None, ingestor: Ingestor | None = None,
                 fault: str | None = None, max_backoff: float | None = None, client: str = "paho"):
        self.host, self.port = parse_broker(broker)
        self.client_id = client_id or default_client_id()
        self.group = group
        self.topic = topic
        self.subscription = f"$share/{group}/{topic}" if group else topic
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0, max_wait_ms) / 1000
        self.protocol = protocol
        self.session_expiry = session_expiry
        self.receive_maximum = min(65535, receive_maximum or queue_size)
        self.keepalive = keepalive
        self.using = using
        if max_backoff is not None:
            self.BACKOFF_MAX_S = max(max_backoff, self.BACKOFF_FIRST_S)
        self.health_file = Path(health_file) if health_file else None
        self.ingestor = ingestor
        self.fault = Fault(fault if fault is not None else os.environ.get("WORKSAFE_FAULT"))
        self.stats = Stats()
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.generation = 0  # +1 on every connect and disconnect; guarded by ack_lock
        self.ack_lock = threading.Lock()
        self.healthy = True
        self.error = ""
        self.last_commit = 0.0
        self._busy_since = 0.0  # monotonic time the batch being written started (0: none)
        self._health_written = 0.0
        self._health_lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None

        if client not in ("paho", "lean"):
            raise ValueError(f"unknown MQTT client {client!r} (paho or lean)")
        if protocol not in (5, 311):
            raise ValueError(f"unknown MQTT protocol {protocol!r} (5 or 311)")
        self.client_kind = client
        if client == "lean":  # MQTT 5 or 3.1.1 over a plain socket, see mqtt_lean.py
            from worksafe.monitoring.mqtt_lean import LeanClient

            self.client = LeanClient(self)  # reads protocol, session_expiry and receive_maximum from the worker
            return
        import paho.mqtt.client as mqtt

        if protocol == 5:
            self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                      client_id=self.client_id, protocol=mqtt.MQTTv5, manual_ack=True)
        else:
            self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                      client_id=self.client_id, protocol=mqtt.MQTTv311, clean_session=False,
                                      manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(1, 10)

    # --- network thread ---------------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT connect to %s:%s refused: %s", self.host, self.port, reason_code)
            return
        with self.ack_lock:
            self.generation += 1
        self.connected.set()
        self._write_health(force=True)
        log.info("MQTT connected to %s:%s as %s (session present: %s)", self.host, self.port, self.client_id,
                 flags.session_present)
        client.subscribe(self.subscription, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        bad = [rc for rc in reason_codes if rc.is_failure]
        if bad:
            log.error("MQTT subscribe to %s refused: %s", self.subscription, bad)
        else:
            self.subscribed.set()
            self._write_health(force=True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self.ack_lock:
            self.generation += 1
        self.connected.clear()
        self.subscribed.clear()
        self._write_health(force=True)
        if not self.stopping.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        item = (message.topic, message.payload, message.mid, message.qos, self.generation)
        try:
            self.queue.put_nowait(item)  # the usual case: room in the queue, no timed wait
            return
        except queue.Full:
            pass
        # The reader thread stops here while the queue is full (TCP backpressure to the broker); the lean
        # client still sends PINGREQ meanwhile, so a long database stall does not cost the connection.
        keepalive = getattr(client, "keepalive_while_blocked", None)
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if keepalive is not None:
                    keepalive()
        # Stopping: not queued and not acknowledged — the broker redelivers it to the next session.

    # --- lifecycle --------------------------------------------------------------------------------------
    def start(self, wait: float = 10.0) -> None:
        """Connect (retrying in the background) and start the network thread. Waits up to `wait` s for
        the subscription (0: do not wait)."""
        self.client.loop_start()
        if self.client_kind == "lean":
            self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        elif self.protocol == 5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session_expiry
            props.ReceiveMaximum = self.receive_maximum
            self.client.connect_async(self.host, self.port, keepalive=self.keepalive, clean_start=False,
                                      properties=props)
        else:
            self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self._write_health(force=True)
        if wait and not self.subscribed.wait(wait):
            log.warning("not subscribed to %s:%s after %.0f s; still trying", self.host, self.port, wait)

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        """Disconnect (after the acknowledgements already queued are written) and stop the network thread."""
        self.stopping.set()
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
        self.connected.clear()
        self._write_health(force=True, status="stopped")
        if self.ingestor is not None:
            connections[self.using].close()

    def _beat(self) -> None:
        """Rewrite the health file every HEALTH_EVERY_S even while the main thread waits on the database, so
        that a probe sees a stall (STALL_S) as such rather than as a stale file."""
        while not self.stopping.wait(self.HEALTH_EVERY_S):
            self._write_health(force=True)

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_a: self.stop())

    # --- main loop --------------------------------------------------------------------------------------
    def run(self, until=None, idle_timeout: float | None = None) -> Stats:
        """Process batches until stop() — or until `until()` is true, or nothing arrived for `idle_timeout`
        seconds (both for tests and tools)."""
        idle_since = time.monotonic()
        if self.health_file is not None and self._heartbeat is None:
            self._heartbeat = threading.Thread(target=self._beat, name="ingest-health", daemon=True)
            self._heartbeat.start()
        while not self.stopping.is_set():
            if until is not None and until():
                break
            batch = self._take(timeout=0.2)
            if not batch:
                self._idle()
                if idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                    break
                continue
            self._handle(batch)
            idle_since = time.monotonic()
        return self.stats

    def _take(self, timeout: float) -> list:
        try:
            first = self.queue.get(timeout=timeout)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        get = self.queue.get
        while len(batch) < self.max_batch:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(get(timeout=left))
                except queue.Empty:
                    break
        return batch

    def _idle(self) -> None:
        if self.ingestor is not None and self.ingestor.last:
            try:
                self.ingestor.flush_last_values()
            except DatabaseError as exc:
                self._unhealthy(exc)
                connections[self.using].close()
        self._write_health()

    def _handle(self, batch: list) -> None:
        messages = []
        for topic, payload, _mid, _qos, _gen in batch:
            where = parse_topic(topic)
            messages.append(Message(payload, source=topic, credit_code=where[0] if where else None,
                                    gateway_code=where[1] if where else None))
        backoff = self.BACKOFF_FIRST_S
        self.fault.batches += 1
        self._busy_since = time.monotonic()
        while True:
            try:
                outcomes = self._process(messages)
                break
            except Exception as exc:  # noqa: BLE001 — nothing committed: retry the same batch, never ack
                self.stats.db_errors += 1
                self._unhealthy(exc)
                try:
                    connections[self.using].close()
                except Exception:  # noqa: BLE001 — the connection is already broken
                    pass
                if self.stopping.wait(backoff):
                    self._busy_since = 0.0
                    return  # stopping with an uncommitted batch: leave it to the broker
                backoff = min(backoff * 2, self.BACKOFF_MAX_S)
        self._busy_since = 0.0
        self.last_commit = time.time()
        if not self.healthy:
            self.healthy, self.error = True, ""
            log.info("database reachable again; ingest resumed")
        if self.fault.due("crash_after_commit"):
            self.fault.crash()
        self._ack(batch)
        self._count(outcomes)
        self._write_health()

    def _process(self, messages: list[Message]):
        if self.ingestor is None:
            self.ingestor = Ingestor(self.using)
        if self.fault.due("crash_before_commit"):
            with transaction.atomic(using=self.using):
                self.ingestor.process(messages)  # its transaction becomes a savepoint of this one
                self.fault.crash()
        return self.ingestor.process(messages)

    def _ack(self, batch: list) -> None:
        acked = set()
        with self.ack_lock:  # the connection cannot change while we acknowledge
            gen = self.generation
            for _topic, _payload, mid, qos, g in batch:
                if g != gen or not qos:
                    if qos:
                        self.stats.stale_skipped += 1
                    continue
                if mid in acked:  # the same message twice in one batch (redelivered while queued)
                    continue
                acked.add(mid)
                self.client.ack(mid, qos)
            flush = getattr(self.client, "flush_acks", None)
            if flush is not None:  # the lean client: every PUBACK of the batch in one write
                flush()
        self.stats.messages += len(acked)

    def _count(self, outcomes) -> None:
        s = self.stats
        s.batches += 1
        for o in outcomes:
            s.outcomes[o.status] = s.outcomes.get(o.status, 0) + 1
            s.readings += o.stored
            if o.status in ("stored", "partial"):
                s.stored += 1
            elif o.status == "duplicate":
                s.duplicates += 1
            else:
                s.rejected += 1

    # --- health -------------------------------------------------------------------------------------------
    def _unhealthy(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}".strip()[:500]
        if self.healthy or text != self.error:
            log.error("ingest unhealthy, nothing acknowledged, retrying: %s", text)
        self.healthy, self.error = False, text
        self._write_health(force=True)

    def health(self, status: str | None = None) -> dict:
        busy = time.monotonic() - self._busy_since if self._busy_since else 0.0
        stalled = busy > self.STALL_S
        ok = self.healthy and self.connected.is_set() and self.subscribed.is_set() and not stalled
        error = self.error or (f"a batch has waited {busy:.0f} s for the database (slow, locked or stuck)"
                               if stalled else "")
        return {"status": status or ("ok" if ok else "unhealthy"),
                "pid": os.getpid(), "client_id": self.client_id, "connected": self.connected.is_set(),
                "subscribed": self.subscribed.is_set(),
                "database": "error" if not self.healthy else ("stalled" if stalled else "ok"), "error": error,
                "in_batch_s": round(busy, 1),
                "last_commit": self.last_commit or None, "queued": self.queue.qsize(),
                "updated": time.time(), "stats": {**vars(self.stats), "outcomes": dict(self.stats.outcomes)}}

    def _write_health(self, force: bool = False, status: str | None = None) -> None:
        if self.health_file is None:
            return
        now = time.monotonic()
        if not force and now - self._health_written < self.HEALTH_EVERY_S:
            return
        self._health_written = now
        with self._health_lock:  # written from the main and the network thread
            tmp = self.health_file.with_name(self.health_file.name + ".tmp")
            try:
                self.health_file.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(self.health(status)))
                os.replace(tmp, self.health_file)
            except Exception as exc:  # noqa: BLE001 — never let the probe break ingest or the network thread
                log.warning("cannot write the health file %s: %s", self.health_file, exc)


def check_health(path: str | Path, max_age: float = 15.0) -> tuple[bool, str]:
    """For probes: (healthy?, why) from a worker's health file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        return False, f"no health file: {exc}"
    age = time.time() - data.get("updated", 0)
    if age > max_age:
        return False, f"health file is {age:.0f} s old (worker hung or gone)"
    if data.get("status") != "ok":
        return False, f"{data.get('status')}: connected={data.get('connected')} {data.get('error', '')}".strip()
    return True, "ok"
