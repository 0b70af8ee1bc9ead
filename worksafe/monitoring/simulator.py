"""A gateway simulator (`worksafe simulate`, `worksafe serve --simulate`): realistic readings for the
monitoring points in the database, sent like real gateways send them.

Per point a signal made of a daily cycle, noise and a slow mean-reverting drift, kept inside the point's
normal band; now and then an excursion over the high (or, for levels, under the low) threshold — a
quick ramp, a hold longer than the point's minimum duration, a return — so alarms are raised and cleared.
Gas points sit near zero with small noise; valves and video points are on/off.

Like a real gateway each simulated gateway numbers its messages with a monotonic `seq` that is never
reused: the next number is written to a small state file (JSON, default var/simulator-state.json)
*before* a message carrying it is sent, and on start the simulator also skips past the highest number
the database has seen. Imperfections a platform must survive are simulated on purpose:
- dropouts: now and then a gateway goes silent for minutes; when it comes back it either sends the
  messages it kept meanwhile (backfill, old timestamps) or has lost them (a sequence gap);
- duplicates: a message is sent again unchanged a few seconds later;
- out-of-order: a message is held back and sent after the next one.

Transports: MQTT QoS 1 (`worksafe/v1/{credit_code}/{gateway}/data`), HTTP (POST /api/v1/telemetry with
the gateway's token; the simulator issues tokens for the local gateways and keeps them in the state
file) and in-process (calls the ingest pipeline directly — `make run` uses this inside the web server,
so the in-process live broadcast reaches the board on SQLite). A message that could not be delivered
stays in the simulator's outbox and is retried.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MAX_READINGS_PER_MESSAGE = 500
OUTBOX_LIMIT = 100_000
DAY_S = 86_400.0
ON_OFF = ("valve", "video")
GAS = ("flammable_gas", "toxic_gas")


@dataclass
class Outgoing:
    """One message ready to send."""

    credit_code: str
    gateway: str  # gateway code
    gateway_id: int
    seq: int
    payload: bytes
    readings: int

    @property
    def topic(self) -> str:
        return f"worksafe/v1/{self.credit_code}/{self.gateway}/data"


@dataclass
class SimPoint:
    id: int
    code: str
    kind: str
    period: float  # seconds between readings
    min_duration: float
    thresholds: dict  # LL, L, H, HH (None where not set)
    range_low: float | None
    range_high: float | None
    center: float = 0.0
    amp: float = 0.0
    noise: float = 0.0
    drift_bound: float = 0.0
    phase: float = 0.0
    drift: float = 0.0
    next_due: float = 0.0
    state: float = 1.0  # on/off points
    excursion: tuple | None = None  # (start, hold_end, end, target)

    def shape(self, rng: random.Random) -> None:
        """Choose the normal band, cycle amplitude and noise from the thresholds and range."""
        th = self.thresholds
        self.phase = rng.uniform(0, 2 * math.pi)
        if self.kind in ON_OFF:
            self.center, self.state = 1.0, 1.0
            return
        if self.kind in GAS:
            top = th["H"] or th["HH"] or (self.range_high if self.range_high is not None else 100.0)
            bottom = self.range_low if self.range_low is not None else 0.0
            self.center = bottom + 0.08 * (top - bottom)
            self.amp, self.noise, self.drift_bound = 0.03 * (top - bottom), 0.01 * (top - bottom), 0.03 * (top - bottom)
            return
        lo = _first(th["L"], th["LL"], self.range_low)
        hi = _first(th["H"], th["HH"], self.range_high)
        if lo is None and hi is None:
            lo, hi = 0.0, 100.0
        elif lo is None:
            lo = hi - max(abs(hi), 1.0)
        elif hi is None:
            hi = lo + max(abs(lo), 1.0)
        width = max(hi - lo, 1e-6)
        self.center = (lo + hi) / 2
        self.amp, self.noise, self.drift_bound = 0.2 * width, 0.01 * width, 0.08 * width

    def can_excurse(self) -> bool:
        return self.kind not in ON_OFF and (self.thresholds["H"] is not None or self.thresholds["HH"] is not None
                                            or self.thresholds["L"] is not None)

    def start_excursion(self, now: float, rng: random.Random) -> str:
        th = self.thresholds
        low_side = th["H"] is None and th["HH"] is None or (
            self.kind == "level" and th["L"] is not None and rng.random() < 0.2)
        hold = max(30.0, 3 * self.min_duration, 2 * self.period) + rng.uniform(0, 60)
        if low_side:
            l_, ll = th["L"], th["LL"]
            if ll is not None and rng.random() < 0.35:
                floor = self.range_low if self.range_low is not None else ll - abs(ll) * 0.5 - 1
                target, cond = ll - 0.3 * (ll - floor), "LL"
            else:
                below = ll if ll is not None else (self.range_low if self.range_low is not None else l_ - 1)
                target, cond = l_ - 0.4 * (l_ - below), "L"
        else:
            h, hh = th["H"], th["HH"]
            if hh is not None and (h is None or rng.random() < 0.35):
                ceiling = self.range_high if self.range_high is not None else hh + abs(hh) * 0.5 + 1
                target, cond = hh + 0.3 * (ceiling - hh), "HH"
            else:
                above = hh if hh is not None else (self.range_high if self.range_high is not None else h + 1)
                target, cond = h + 0.4 * (above - h), "H"
        ramp = min(5.0, max(self.period, 1.0))
        self.excursion = (now, now + ramp + hold, now + 2 * ramp + hold, target, ramp)
        return cond

    def value(self, t: float, t_sim: float, rng: random.Random) -> float:
        if self.kind in ON_OFF:
            return self.state
        base = self.center + self.amp * math.sin(2 * math.pi * t_sim / DAY_S + self.phase) + self.drift
        base += rng.gauss(0, self.noise)
        if self.range_low is not None:
            base = max(base, self.range_low)
        if self.range_high is not None:
            base = min(base, self.range_high)
        if self.excursion is not None:
            start, hold_end, end, target, ramp = self.excursion
            if t >= end:
                self.excursion = None
            elif t >= start:
                p = min(1.0, (t - start) / ramp) if t < hold_end else max(0.0, (end - t) / ramp)
                return base + p * (target - base)
        return base

    def step_drift(self, dt_sim: float, rng: random.Random) -> None:
        if self.kind in ON_OFF:
            if self.kind == "valve" and rng.random() < dt_sim / 7200:
                self.state = 1.0 - self.state
            return
        # Ornstein–Uhlenbeck: wanders slowly, pulled back towards zero (time constant ~6 h simulated).
        theta = dt_sim / 21_600
        self.drift += -theta * self.drift + rng.gauss(0, self.drift_bound * math.sqrt(min(theta, 1.0)))
        self.drift = max(-self.drift_bound, min(self.drift_bound, self.drift))


def _first(*values):
    return next((v for v in values if v is not None), None)


@dataclass
class SimGateway:
    id: int
    code: str
    credit_code: str
    points: list[SimPoint] = field(default_factory=list)
    silent_until: float = 0.0
    keep_while_silent: bool = True
    buffered: list[Outgoing] = field(default_factory=list)
    held: Outgoing | None = None  # held back to be sent after the next message (out of order)

    @property
    def key(self) -> str:
        return f"{self.credit_code}/{self.code}"


@dataclass
class SimStats:
    messages: int = 0
    readings: int = 0
    duplicates: int = 0
    reordered: int = 0
    dropouts: int = 0
    lost: int = 0  # messages a gateway lost during a dropout (they show as sequence gaps)
    excursions: int = 0
    failures: int = 0  # delivery attempts that failed (retried)


class State:
    """The simulator's persistent state: next sequence number and HTTP token per gateway."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict = {"gateways": {}}
        if path.exists():
            try:
                self.data = json.loads(path.read_text())
            except ValueError:
                raise SystemExit(f"{path} is not a simulator state file; move it away") from None
        self.data.setdefault("gateways", {})

    def gateway(self, key: str) -> dict:
        return self.data["gateways"].setdefault(key, {"next_seq": 1})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold gateway tokens
        with os.fdopen(fd, "w") as f:
            json.dump(self.data, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


# --- transports ------------------------------------------------------------------------------------------

class DeliveryError(Exception):
    """The message was not delivered; keep it and retry."""


class InProcessTransport:
    """Straight into the ingest pipeline of this process (its own DB connection)."""

    name = "in-process"

    def __init__(self, using: str = "default"):
        self.using = using

    def send(self, batch: list[Outgoing]) -> None:
        from django.db import Error, connections

        from worksafe.monitoring import ingest

        messages = [ingest.Message(o.payload, source="simulator", credit_code=o.credit_code, gateway_code=o.gateway)
                    for o in batch]
        try:
            ingest.shared(self.using).process(messages)
        except Error as exc:
            connections[self.using].close()
            raise DeliveryError(str(exc)) from exc

    def close(self) -> None:
        from django.db import connections

        connections[self.using].close()


class MqttTransport:
    """QoS 1 publishes; waits for PUBACKs when too many are outstanding."""

    name = "mqtt"
    MAX_PENDING = 2000

    def __init__(self, broker: str, client_id: str | None = None):
        import paho.mqtt.client as mqtt

        from worksafe.monitoring.mqtt import parse_broker

        self.host, self.port = parse_broker(broker)
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"worksafe-sim-{socket.gethostname()}-{os.getpid()}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(self.MAX_PENDING)
        self.connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.set() if not rc.is_failure else None
        self.client.on_disconnect = lambda c, u, f, rc, p: self.connected.clear()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self.pending: list = []

    def send(self, batch: list[Outgoing]) -> None:
        if not self.connected.wait(5):
            raise DeliveryError(f"MQTT broker {self.host}:{self.port} not reachable")
        self.pending = [i for i in self.pending if not i.is_published()]
        while len(self.pending) > self.MAX_PENDING // 2:
            self.pending[0].wait_for_publish(5)
            self.pending = [i for i in self.pending if not i.is_published()]
        for o in batch:
            info = self.client.publish(o.topic, o.payload, qos=1)
            if info.rc:
                raise DeliveryError(f"publish failed: {info.rc}")
            self.pending.append(info)

    def close(self) -> None:
        for info in self.pending:
            try:
                info.wait_for_publish(5)
            except RuntimeError:
                break
        self.client.disconnect()
        self.client.loop_stop()


class HttpTransport:
    """POST /api/v1/telemetry with the gateway's Bearer token; 2xx/409/422 are final, the rest is retried."""

    name = "http"

    def __init__(self, url: str, tokens: dict[int, str]):
        self.url = url.rstrip("/")
        if not self.url.endswith("/api/v1/telemetry"):
            self.url += "/api/v1/telemetry"
        self.tokens = tokens

    def send(self, batch: list[Outgoing]) -> None:
        import urllib.error
        import urllib.request

        for n, o in enumerate(batch):
            req = urllib.request.Request(self.url, data=o.payload, method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {self.tokens.get(o.gateway_id, '')}"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code in (409, 422):
                    log.warning("gateway %s seq %s refused (%s): %s", o.gateway, o.seq, exc.code,
                                exc.read()[:200].decode(errors="replace"))
                    continue
                raise PartialDelivery(n, f"HTTP {exc.code}") from exc
            except OSError as exc:
                raise PartialDelivery(n, str(exc)) from exc

    def close(self) -> None:
        pass


class PartialDelivery(DeliveryError):
    def __init__(self, delivered: int, why: str):
        super().__init__(why)
        self.delivered = delivered


# --- the simulator ---------------------------------------------------------------------------------------

class Simulator:
    RELOAD_S = 30.0
    SEND_CHUNK = 200  # messages per transport call (one ingest transaction in-process)

    def __init__(self, transport, *, rate: float | None = None, excursion_every: float = 120.0, speed: float = 1.0,
                 seed: int | None = None, state_file: str | Path | None = None, dropout_every: float = 900.0,
                 duplicate_rate: float = 0.01, reorder_rate: float = 0.01, using: str = "default",
                 issue_tokens: bool = False):
        from django.conf import settings

        self.transport = transport
        self.rate = rate
        self.excursion_every = excursion_every
        self.speed = max(speed, 1e-6)
        self.rng = random.Random(seed)
        self.state = State(Path(state_file) if state_file else settings.VAR_DIR / "simulator-state.json")
        self.dropout_every = dropout_every
        self.duplicate_rate = duplicate_rate
        self.reorder_rate = reorder_rate
        self.using = using
        self.issue_tokens = issue_tokens
        self.gateways: dict[int, SimGateway] = {}
        self.outbox: list[Outgoing] = []
        self.repeats: list[tuple[float, Outgoing]] = []  # (when, message) duplicates to send
        self.stats = SimStats()
        self.started = time.time()
        self.last_step: float | None = None
        self.loaded_at = 0.0
        self.stamp = None
        now = time.time()
        self.next_excursion = now + self._exp(excursion_every)
        self.next_dropout = now + self._exp(dropout_every)

    def _exp(self, mean: float) -> float:
        return self.rng.expovariate(1 / mean) if mean and mean > 0 else math.inf

    def sim_time(self, t: float) -> float:
        return self.started + (t - self.started) * self.speed

    # --- points from the database -----------------------------------------------------------------------
    def load(self, force: bool = False) -> None:
        from django.db.models import Count, Max

        from worksafe.monitoring.models import Gateway, Point

        points = Point.objects.using(self.using).filter(active=True, gateway__active=True)
        stamp = points.aggregate(n=Count("id"), m=Max("updated_at"))
        self.loaded_at = time.monotonic()
        if not force and stamp == self.stamp:
            return
        self.stamp = stamp
        old = self.gateways
        self.gateways = {}
        rows = points.order_by("gateway_id", "code").values(
            "id", "code", "kind", "sampling_period", "min_duration", "low_low", "low", "high", "high_high",
            "range_low", "range_high", "gateway_id", "gateway__code", "enterprise__credit_code")
        rows = list(rows)
        n = len(rows)
        period = (n / self.rate) if self.rate else None
        now = time.time()
        for r in rows:
            gw = self.gateways.get(r["gateway_id"])
            if gw is None:
                gw = old.get(r["gateway_id"]) or SimGateway(r["gateway_id"], r["gateway__code"],
                                                            r["enterprise__credit_code"])
                gw.points = []
                self.gateways[gw.id] = gw
            known = next((p for p in (old[gw.id].points if gw.id in old else []) if p.id == r["id"]), None)
            p = SimPoint(r["id"], r["code"], r["kind"], period or float(r["sampling_period"]), float(r["min_duration"]),
                         {"LL": r["low_low"], "L": r["low"], "H": r["high"], "HH": r["high_high"]},
                         r["range_low"], r["range_high"])
            p.shape(self.rng)
            if known is not None:
                p.drift, p.phase, p.excursion, p.state = known.drift, known.phase, known.excursion, known.state
            p.next_due = now + self.rng.uniform(0, p.period)  # gateways do not all scan at the same instant
            gw.points.append(p)
        # Never reuse a sequence number, even if the state file was lost: skip past what the database saw.
        max_seq = dict(Gateway.objects.using(self.using).filter(id__in=self.gateways).values_list("id", "max_seq"))
        for gw in self.gateways.values():
            st = self.state.gateway(gw.key)
            if max_seq.get(gw.id) is not None and st["next_seq"] <= max_seq[gw.id]:
                st["next_seq"] = max_seq[gw.id] + 1
        if self.issue_tokens:
            self._tokens()
        self.state.save()
        log.info("simulating %d points on %d gateways", n, len(self.gateways))

    def _tokens(self) -> None:
        from worksafe.monitoring.models import Gateway

        hashes = dict(Gateway.objects.using(self.using).filter(id__in=self.gateways).values_list("id", "token_hash"))
        for gw in self.gateways.values():
            st = self.state.gateway(gw.key)
            token = st.get("token")
            if not token or Gateway.hash_token(token) != hashes.get(gw.id):
                st["token"] = Gateway.objects.using(self.using).get(pk=gw.id).issue_token()
        if isinstance(self.transport, HttpTransport):
            self.transport.tokens.update({gw.id: self.state.gateway(gw.key)["token"] for gw in self.gateways.values()})

    # --- one tick -----------------------------------------------------------------------------------------
    def step(self, now: float) -> list[Outgoing]:
        """Readings due up to `now`, as messages in sending order (duplicates and reordering included)."""
        if time.monotonic() - self.loaded_at > self.RELOAD_S:
            self.load()
        dt_sim = ((now - self.last_step) if self.last_step else 0.0) * self.speed
        self.last_step = now
        self._events(now)
        out: list[Outgoing] = []
        seq_used = False
        t_sim_now = self.sim_time(now)
        for gw in self.gateways.values():
            readings = []
            for p in gw.points:
                p.step_drift(dt_sim, self.rng)
                while p.next_due <= now:
                    t = p.next_due
                    v = p.value(t, t_sim_now - (now - t) * self.speed, self.rng)
                    q = 1 if self.rng.random() < 0.001 else 0
                    readings.append({"point": p.code, "ts": int(t * 1000), "value": round(v, 4),
                                     **({"quality": q} if q else {})})
                    p.next_due += p.period
            silent = now < gw.silent_until
            if not silent and gw.buffered:  # back online: backfill what was kept, or report the loss
                if gw.keep_while_silent:
                    out.extend(gw.buffered)
                else:
                    self.stats.lost += len(gw.buffered)
                gw.buffered = []
            for i in range(0, len(readings), MAX_READINGS_PER_MESSAGE):
                chunk = readings[i:i + MAX_READINGS_PER_MESSAGE]
                st = self.state.gateway(gw.key)
                seq = st["next_seq"]
                st["next_seq"] = seq + 1
                seq_used = True
                msg = Outgoing(gw.credit_code, gw.code, gw.id, seq, json.dumps(
                    {"gateway": gw.code, "seq": seq, "readings": chunk}, separators=(",", ":")).encode(), len(chunk))
                if silent:
                    if len(gw.buffered) < 10_000:
                        gw.buffered.append(msg)
                    else:
                        self.stats.lost += 1
                    continue
                if gw.held is not None:  # the held-back message goes after this one: out of order
                    out.extend([msg, gw.held])
                    gw.held = None
                elif self.rng.random() < self.reorder_rate:
                    gw.held = msg
                    self.stats.reordered += 1
                else:
                    out.append(msg)
                if self.rng.random() < self.duplicate_rate:
                    self.repeats.append((now + self.rng.uniform(1, 5), msg))
        due = [m for t, m in self.repeats if t <= now]
        if due:
            self.repeats = [(t, m) for t, m in self.repeats if t > now]
            out.extend(due)
            self.stats.duplicates += len(due)
        if seq_used:
            self.state.save()  # before sending: a number once used is never handed out again
        return out

    def _events(self, now: float) -> None:
        if now >= self.next_excursion:
            self.next_excursion = now + self._exp(self.excursion_every)
            candidates = [p for gw in self.gateways.values() if now >= gw.silent_until for p in gw.points
                          if p.excursion is None and p.can_excurse()]
            if candidates:
                p = self.rng.choice(candidates)
                cond = p.start_excursion(now, self.rng)
                self.stats.excursions += 1
                log.info("excursion: point %s towards %s", p.code, cond)
        if now >= self.next_dropout:
            self.next_dropout = now + self._exp(self.dropout_every)
            online = [gw for gw in self.gateways.values() if now >= gw.silent_until]
            if len(online) > 1:  # never silence the only gateway
                gw = self.rng.choice(online)
                gw.silent_until = now + self.rng.uniform(120, 900)
                gw.keep_while_silent = self.rng.random() < 0.7
                self.stats.dropouts += 1
                log.info("dropout: gateway %s silent for %.0f s (%s)", gw.key, gw.silent_until - now,
                         "will backfill" if gw.keep_while_silent else "will lose its buffer")

    # --- delivery -----------------------------------------------------------------------------------------
    def deliver(self, messages: list[Outgoing]) -> None:
        self.outbox.extend(messages)
        if len(self.outbox) > OUTBOX_LIMIT:
            dropped = len(self.outbox) - OUTBOX_LIMIT
            self.outbox = self.outbox[dropped:]
            self.stats.lost += dropped
            log.warning("simulator outbox full: %d oldest messages dropped", dropped)
        if not self.outbox:
            return
        while self.outbox:
            batch = self.outbox[:self.SEND_CHUNK]
            try:
                self.transport.send(batch)
                delivered = len(batch)
            except DeliveryError as exc:
                delivered = getattr(exc, "delivered", 0)
                self.stats.failures += 1
                log.warning("delivery failed (%s); %d messages kept for retry", exc, len(self.outbox) - delivered)
            del self.outbox[:delivered]
            self.stats.messages += delivered
            self.stats.readings += sum(m.readings for m in batch[:delivered])
            if delivered < len(batch):
                return

    def run(self, duration: float | None = None, stop: threading.Event | None = None, tick: float | None = None) -> SimStats:
        stop = stop or threading.Event()
        self.load(force=True)
        end = time.monotonic() + duration if duration else math.inf
        try:
            while not stop.is_set() and time.monotonic() < end:
                started = time.monotonic()
                self.deliver(self.step(time.time()))
                periods = [p.period for gw in self.gateways.values() for p in gw.points]
                interval = tick or max(0.05, min(1.0, min(periods, default=5.0) / 2))
                if not self.gateways:
                    interval = 5.0
                if self.outbox:
                    interval = max(interval, 2.0)  # delivery failing: back off a little
                stop.wait(max(0.0, min(interval - (time.monotonic() - started), end - time.monotonic())))
        finally:
            self.deliver([])
            self.transport.close()
        return self.stats


def start_in_thread(using: str = "default", **options) -> tuple[threading.Thread, threading.Event]:
    """Run an in-process simulator in a daemon thread (for `worksafe serve --simulate`)."""
    stop = threading.Event()

    def target():
        try:
            Simulator(InProcessTransport(using), using=using, **options).run(stop=stop)
        except Exception:  # noqa: BLE001 — the web server keeps running without live data
            log.exception("the in-process simulator stopped")

    thread = threading.Thread(target=target, name="worksafe-simulator", daemon=True)
    thread.start()
    return thread, stop
