"""A lean MQTT 3.1.1 subscriber for the ingest worker (`worksafe ingest --client lean`).

paho-mqtt spends most of the worker's time per message (one socket read per packet, v5 property parsing,
topic matching, one send per PUBACK). This client does only what the worker needs, over a plain socket:

- CONNECT with the worker's fixed client id and clean_session=0 (a persistent session), keepalive with
  PINGREQ/PINGRESP; SUBSCRIBE QoS 1 to the worker's (shared) subscription, checking the SUBACK return code.
- One reader thread reads the socket in large chunks and parses every complete packet in them (`parse()`);
  each PUBLISH goes to the worker's `_on_message`, which puts it on the bounded queue and blocks when the
  queue is full — the socket is then no longer read (TCP backpressure), exactly as with paho.
- `ack()` only collects PUBACKs; the worker calls `flush_acks()` once per committed batch (under its
  `ack_lock`), which writes them all with one `sendall`.
- The worker's own callbacks (`_on_connect`, `_on_subscribe`, `_on_disconnect`) are called as paho would call
  them, so the worker's connection generations decide what is acknowledged: a message received on an
  earlier connection is never acknowledged on a later one (the broker redelivers it).
- On a socket or protocol error the connection is closed and re-opened with exponential backoff.

The interface is the part of paho's `Client` the worker uses: loop_start, connect_async, subscribe, ack,
disconnect, loop_stop (plus flush_acks).
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 1, 2, 3, 4, 8, 9, 12, 13, 14
RECV_BYTES = 1 << 20
CONNACK_REASONS = {1: "unacceptable protocol version", 2: "identifier rejected", 3: "server unavailable",
                   4: "bad user name or password", 5: "not authorised"}


class ProtocolError(Exception):
    """The broker sent something this client does not accept: the connection is dropped and re-opened."""


@dataclass(slots=True)
class Publish:
    """One PUBLISH as the worker's `_on_message` reads it (the attributes paho's MQTTMessage has)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    dup: bool = False
    retain: bool = False


@dataclass(slots=True)
class Code:
    """A CONNACK/SUBACK return code with the bit of paho's ReasonCode the worker looks at."""

    value: int
    text: str = ""
    is_failure: bool = False

    def __str__(self) -> str:
        return self.text or str(self.value)


@dataclass(slots=True)
class Flags:
    session_present: bool


def encode_length(n: int) -> bytes:
    """MQTT remaining length: 1–4 bytes, 7 bits each, least significant first."""
    if not 0 <= n <= 268_435_455:
        raise ValueError(f"remaining length {n} out of range")
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def connect_packet(client_id: str, keepalive: int) -> bytes:
    """CONNECT, MQTT 3.1.1, clean_session=0 (the broker keeps the session and its un-acknowledged messages)."""
    body = _string("MQTT") + b"\x04\x00" + struct.pack("!H", keepalive) + _string(client_id)
    return b"\x10" + encode_length(len(body)) + body


def subscribe_packet(packet_id: int, topic: str, qos: int = 1) -> bytes:
    body = struct.pack("!H", packet_id) + _string(topic) + bytes([qos])
    return b"\x82" + encode_length(len(body)) + body


def puback(mid: int) -> bytes:
    return b"\x40\x02" + mid.to_bytes(2, "big")


def parse(data: bytes, pos: int = 0) -> tuple[list, int]:
    """All complete packets in `data[pos:]`: (packets, offset of the first byte not consumed).

    A PUBLISH is returned as a `Publish`; any other packet as (type, flags, body). An incomplete packet at
    the end is left for the next call (its bytes start at the returned offset)."""
    packets = []
    end = len(data)
    while pos + 2 <= end:
        first = data[pos]
        # Remaining length: 1–4 bytes.
        i = pos + 1
        byte = data[i]
        length = byte & 0x7F
        if byte & 0x80:
            shift = 7
            while True:
                i += 1
                if i >= end:
                    return packets, pos  # the length itself is still incomplete
                byte = data[i]
                length |= (byte & 0x7F) << shift
                if not byte & 0x80:
                    break
                shift += 7
                if shift > 21:
                    raise ProtocolError("remaining length longer than 4 bytes")
        start = i + 1
        stop = start + length
        if stop > end:
            break
        kind = first >> 4
        if kind == PUBLISH:
            qos = (first >> 1) & 3
            if length < 2:
                raise ProtocolError("PUBLISH without a topic")
            tlen = (data[start] << 8) | data[start + 1]
            p = start + 2 + tlen
            if qos:
                if qos == 3 or p + 2 > stop:
                    raise ProtocolError("malformed PUBLISH")
                mid = (data[p] << 8) | data[p + 1]
                p += 2
            else:
                mid = 0
            if p > stop:
                raise ProtocolError("malformed PUBLISH")
            try:
                topic = data[start + 2:start + 2 + tlen].decode()
            except UnicodeDecodeError as exc:
                raise ProtocolError("PUBLISH topic is not UTF-8") from exc
            packets.append(Publish(topic, bytes(data[p:stop]), mid, qos, bool(first & 0x08), bool(first & 0x01)))
        else:
            packets.append((kind, first & 0x0F, bytes(data[start:stop])))
        pos = stop
    return packets, pos


class LeanClient:
    """The worker's MQTT connection (see the module docstring). `worker` is a `worksafe.monitoring.mqtt.Worker`."""

    BACKOFF_FIRST_S = 1.0
    BACKOFF_MAX_S = 10.0
    CONNECT_TIMEOUT_S = 10.0
    SUBSCRIBE_PACKET_ID = 1

    def __init__(self, worker):
        self.worker = worker
        self.host = self.port = None
        self.keepalive = 30
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._acks: list[bytes] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()  # cuts a backoff wait short on stop
        self._last_send = 0.0
        self._ping_sent = 0.0
        self._pending: list = []
        self.connections = 0  # successful CONNACKs (tests, logs)

    # --- the part of paho's interface the worker uses ------------------------------------------------------
    def loop_start(self) -> None:
        pass  # the reader thread starts in connect_async, once it knows where to connect

    def connect_async(self, host: str, port: int, keepalive: int = 30, **_ignored) -> None:
        self.host, self.port, self.keepalive = host, port, keepalive
        self._thread = threading.Thread(target=self._loop, name=f"mqtt-lean-{self.worker.client_id}", daemon=True)
        self._thread.start()

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self._send(subscribe_packet(self.SUBSCRIBE_PACKET_ID, topic, qos))

    def ack(self, mid: int, qos: int) -> None:
        """Collect a PUBACK; `flush_acks()` sends it. Called by the worker under its ack_lock."""
        if qos == 1:
            self._acks.append(puback(mid))

    def flush_acks(self) -> None:
        """Send every collected PUBACK in one write. A failure closes the connection: the reader thread
        reconnects, and the broker redelivers what was not acknowledged."""
        if not self._acks:
            return
        data, self._acks = b"".join(self._acks), []
        try:
            self._send(data)
        except OSError as exc:
            log.warning("MQTT: sending %d PUBACKs failed: %s", len(data) // 4, exc)
            self._drop()

    def disconnect(self) -> None:
        self._stop.set()
        self._wake.set()
        sock = self._sock
        if sock is not None:
            try:
                self._send(b"\xe0\x00")  # DISCONNECT: a clean close, the session stays
            except OSError:
                pass
            self._drop()

    def loop_stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(15)

    # --- internals -----------------------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        sock = self._sock
        if sock is None:
            raise OSError("not connected")
        with self._send_lock:
            sock.sendall(data)
            self._last_send = time.monotonic()

    def _drop(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread up
            except OSError:
                pass

    def _loop(self) -> None:
        backoff = self.BACKOFF_FIRST_S
        while not self._stop.is_set():
            connected = False
            reason = ""
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.CONNECT_TIMEOUT_S)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                self._sock = sock
                self._acks = []
                self._send(connect_packet(self.worker.client_id, self.keepalive))
                leftover = self._connack(sock)
                connected = True
                self.connections += 1
                backoff = self.BACKOFF_FIRST_S
                self._read(sock, leftover)
            except (OSError, ProtocolError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                sock, self._sock = self._sock, None
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass
                if connected:  # the worker's generation moves on: nothing of this connection is acked later
                    self.worker._on_disconnect(self, None, None, Code(0, reason or "closed"), None)
            if self._stop.is_set():
                break
            if not connected:
                log.warning("MQTT connect to %s:%s failed (%s); retrying in %.0f s", self.host, self.port, reason,
                            backoff)
            self._wake.wait(backoff)
            backoff = min(backoff * 2, self.BACKOFF_MAX_S)

    def _connack(self, sock: socket.socket) -> bytes:
        data = b""
        deadline = time.monotonic() + self.CONNECT_TIMEOUT_S
        while True:
            packets, used = parse(data)
            if packets:
                break
            if time.monotonic() > deadline:
                raise ProtocolError("no CONNACK")
            chunk = sock.recv(RECV_BYTES)
            if not chunk:
                raise ConnectionError("connection closed before CONNACK")
            data += chunk
        kind, _flags, body = packets[0]
        if kind != CONNACK or len(body) != 2:
            raise ProtocolError(f"expected CONNACK, got packet type {kind}")
        rc = Code(body[1], CONNACK_REASONS.get(body[1], f"refused ({body[1]})") if body[1] else "accepted",
                  is_failure=body[1] != 0)
        self.worker._on_connect(self, None, Flags(bool(body[0] & 1)), rc, None)
        if rc.is_failure:
            raise ProtocolError(f"CONNACK: {rc}")
        # Anything after the CONNACK in the same read (a resumed session's messages) is handled by _read.
        rest = packets[1:]
        self._pending = rest
        return data[used:]

    def _read(self, sock: socket.socket, data: bytes) -> None:
        keepalive = self.keepalive
        sock.settimeout(min(1.0, keepalive / 2) if keepalive else 1.0)
        self._ping_sent = 0.0
        on_message = self.worker._on_message
        pending, self._pending = self._pending, []
        self._dispatch(pending, on_message)
        while not self._stop.is_set():
            packets, used = parse(data)
            if packets:
                self._dispatch(packets, on_message)
            data = data[used:] if used else data
            if keepalive:
                self._keepalive(keepalive)
            try:
                chunk = sock.recv(RECV_BYTES)
            except TimeoutError:
                continue
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            data = data + chunk if data else chunk

    def _keepalive(self, keepalive: int) -> None:
        now = time.monotonic()
        if self._ping_sent:
            if now - self._ping_sent > keepalive:
                raise ProtocolError(f"no PINGRESP within {keepalive} s")
        elif now - self._last_send >= keepalive / 2:
            self._send(b"\xc0\x00")  # PINGREQ
            self._ping_sent = now

    def _dispatch(self, packets: list, on_message) -> None:
        for p in packets:
            if type(p) is Publish:
                if p.qos == 2:
                    raise ProtocolError("QoS 2 PUBLISH on a QoS 1 subscription")
                on_message(self, None, p)  # blocks while the worker's queue is full: the socket is not read
                if self._stop.is_set():
                    return
                continue
            kind, _flags, body = p
            if kind == PINGRESP:
                self._ping_sent = 0.0
            elif kind == SUBACK:
                if len(body) < 3:
                    raise ProtocolError("malformed SUBACK")
                codes = [Code(c, "failure" if c >= 0x80 else f"granted QoS {c}", c >= 0x80) for c in body[2:]]
                self.worker._on_subscribe(self, None, (body[0] << 8) | body[1], codes, None)
                if any(c.is_failure for c in codes):
                    raise ProtocolError(f"SUBSCRIBE to {self.worker.subscription} refused (SUBACK 0x80)")
            elif kind in (PUBACK, CONNACK):
                raise ProtocolError(f"unexpected packet type {kind}")
            # anything else (e.g. UNSUBACK) is ignored
