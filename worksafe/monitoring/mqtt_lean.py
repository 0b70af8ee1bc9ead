"""A lean MQTT 5 / 3.1.1 subscriber for the ingest worker (`worksafe ingest`, the default `--client lean`).

paho-mqtt spends most of the worker's time per message (one socket read per packet, v5 property parsing,
topic matching, one send per PUBACK). This client does only what the worker needs, over a plain socket:

- CONNECT with the worker's fixed client id and a persistent session: MQTT 5 (the worker's `protocol` 5)
  with Clean Start off, a Session Expiry Interval (`--session-expiry`) and a Receive Maximum (`--queue-size`,
  at most 65535: the broker never has more un-acknowledged messages in flight to us); MQTT 3.1.1 (`protocol`
  311) with clean_session=0. Keepalive with PINGREQ/PINGRESP (a v5 Server Keep Alive replaces ours);
  SUBSCRIBE QoS 1 to the worker's (shared) subscription, checking the SUBACK reason code.
- v5 properties are decoded only on CONNACK, SUBACK and DISCONNECT; a PUBLISH's properties are skipped. The
  server's Receive Maximum and Maximum Packet Size limit what a client sends: we send only SUBSCRIBE, PUBACK,
  PINGREQ and DISCONNECT, so they need no handling. A server DISCONNECT is a dropped connection.
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
# MQTT 5 reason codes (CONNACK, SUBACK, DISCONNECT) worth a name in the log; any other is shown in hex.
REASONS_V5 = {0x80: "unspecified error", 0x81: "malformed packet", 0x82: "protocol error",
              0x83: "implementation specific error", 0x84: "unsupported protocol version",
              0x85: "client identifier not valid", 0x86: "bad user name or password", 0x87: "not authorized",
              0x88: "server unavailable", 0x89: "server busy", 0x8A: "banned", 0x8B: "server shutting down",
              0x8C: "bad authentication method", 0x8D: "keep alive timeout", 0x8E: "session taken over",
              0x8F: "topic filter invalid", 0x93: "receive maximum exceeded", 0x95: "packet too large",
              0x97: "quota exceeded", 0x98: "administrative action", 0x9C: "use another server",
              0x9D: "server moved", 0x9E: "shared subscriptions not supported", 0x9F: "connection rate exceeded",
              0xA0: "maximum connect time", 0xA2: "wildcard subscriptions not supported"}
# MQTT 5 property identifiers by value type (for decoding CONNACK/SUBACK/DISCONNECT properties).
PROP_BYTE = frozenset({0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A})
PROP_UINT16 = frozenset({0x13, 0x21, 0x22, 0x23})
PROP_UINT32 = frozenset({0x02, 0x11, 0x18, 0x27})
PROP_VARINT = frozenset({0x0B})
PROP_STRING = frozenset({0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F})
PROP_BINARY = frozenset({0x09, 0x16})
PROP_PAIR = 0x26
SESSION_EXPIRY, RECEIVE_MAXIMUM, SERVER_KEEP_ALIVE, REASON_STRING = 0x11, 0x21, 0x13, 0x1F


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


def connect_packet(client_id: str, keepalive: int, protocol: int = 311, session_expiry: int = 0,
                   receive_maximum: int = 65535) -> bytes:
    """CONNECT with a persistent session (the broker keeps it and its un-acknowledged messages).

    protocol 311: MQTT 3.1.1, clean_session=0. protocol 5: MQTT 5, Clean Start=0, with the properties
    Session Expiry Interval (seconds the broker keeps the session after the connection ends; 0 ends it with
    the connection) and Receive Maximum (un-acknowledged QoS 1 messages the broker may have in flight to us)."""
    if protocol == 5:
        props = (bytes([SESSION_EXPIRY]) + struct.pack("!I", min(max(session_expiry, 0), 0xFFFFFFFF))
                 + bytes([RECEIVE_MAXIMUM]) + struct.pack("!H", min(max(receive_maximum, 1), 65535)))
        body = (_string("MQTT") + b"\x05\x00" + struct.pack("!H", keepalive) + encode_length(len(props)) + props
                + _string(client_id))
    else:
        body = _string("MQTT") + b"\x04\x00" + struct.pack("!H", keepalive) + _string(client_id)
    return b"\x10" + encode_length(len(body)) + body


def subscribe_packet(packet_id: int, topic: str, qos: int = 1, protocol: int = 311) -> bytes:
    """SUBSCRIBE to one topic filter. v5: no properties; subscription options = the QoS (No Local, Retain As
    Published and Retain Handling 0 — No Local must be 0 on a shared subscription)."""
    props = b"\x00" if protocol == 5 else b""
    body = struct.pack("!H", packet_id) + props + _string(topic) + bytes([qos])
    return b"\x82" + encode_length(len(body)) + body


def puback(mid: int) -> bytes:
    return b"\x40\x02" + mid.to_bytes(2, "big")


def read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A variable byte integer (1–4 bytes) at `data[pos:end]`: (value, offset after it)."""
    value = shift = 0
    while True:
        if pos >= end:
            raise ProtocolError("truncated variable byte integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 21:
            raise ProtocolError("variable byte integer longer than 4 bytes")


def read_properties(body: bytes, pos: int) -> tuple[dict, int]:
    """The MQTT 5 properties block at `body[pos:]` (its length, then the properties): ({id: value}, offset
    after the block). A User Property (which may repeat) is collected as a list of (name, value) pairs."""
    length, pos = read_varint(body, pos, len(body))
    end = pos + length
    if end > len(body):
        raise ProtocolError("properties longer than the packet")
    props: dict = {}
    try:
        while pos < end:
            ident = body[pos]
            pos += 1
            if ident in PROP_BYTE:
                value, pos = body[pos], pos + 1
            elif ident in PROP_UINT16:
                value, pos = (body[pos] << 8) | body[pos + 1], pos + 2
            elif ident in PROP_UINT32:
                value, pos = int.from_bytes(body[pos:pos + 4], "big"), pos + 4
            elif ident in PROP_VARINT:
                value, pos = read_varint(body, pos, end)
            elif ident in PROP_STRING or ident in PROP_BINARY or ident == PROP_PAIR:
                items = []
                for _ in range(2 if ident == PROP_PAIR else 1):
                    n = (body[pos] << 8) | body[pos + 1]
                    raw = body[pos + 2:pos + 2 + n]
                    if len(raw) != n:
                        raise ProtocolError("truncated property")
                    items.append(raw if ident in PROP_BINARY else raw.decode())
                    pos += 2 + n
                if ident == PROP_PAIR:
                    props.setdefault(PROP_PAIR, []).append(tuple(items))
                    continue
                value = items[0]
            else:
                raise ProtocolError(f"unknown property 0x{ident:02x}")
            props[ident] = value
    except (IndexError, UnicodeDecodeError) as exc:
        raise ProtocolError("malformed properties") from exc
    if pos != end:
        raise ProtocolError("malformed properties")
    return props, end


def reason_text(code: int, props: dict | None = None) -> str:
    """An MQTT 5 reason code as the log shows it, with the server's Reason String if it sent one."""
    text = f"{REASONS_V5.get(code) or ('success' if code == 0 else 'reason')} (0x{code:02x})"
    if props and props.get(REASON_STRING):
        text += f": {props[REASON_STRING]}"
    return text


def parse(data: bytes, pos: int = 0, v5: bool = False) -> tuple[list, int]:
    """All complete packets in `data[pos:]`: (packets, offset of the first byte not consumed).

    A PUBLISH is returned as a `Publish` (with `v5`, its properties are skipped); any other packet as
    (type, flags, body). An incomplete packet at the end is left for the next call (its bytes start at the
    returned offset)."""
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
            if v5:  # the properties: their length (a variable byte integer), then skip them
                if p >= stop:
                    raise ProtocolError("malformed PUBLISH")
                byte = data[p]
                if byte:
                    plen, p = read_varint(data, p, stop)
                    p += plen
                else:  # the usual case: no properties
                    p += 1
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
        self._v5 = True
        self._keepalive_now = 30  # this connection's keepalive: ours, or the server's (v5 Server Keep Alive)
        self.connack_properties: dict = {}  # the last v5 CONNACK's properties (tests, logs)
        self.connections = 0  # successful CONNACKs (tests, logs)

    # --- the part of paho's interface the worker uses ------------------------------------------------------
    def loop_start(self) -> None:
        pass  # the reader thread starts in connect_async, once it knows where to connect

    def connect_async(self, host: str, port: int, keepalive: int = 30, **_ignored) -> None:
        self.host, self.port, self.keepalive = host, port, keepalive
        self._thread = threading.Thread(target=self._loop, name=f"mqtt-lean-{self.worker.client_id}", daemon=True)
        self._thread.start()

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self._send(subscribe_packet(self.SUBSCRIBE_PACKET_ID, topic, qos, 5 if self._v5 else 311))

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

    def keepalive_while_blocked(self) -> None:
        """Called by the worker while its full queue holds this (the reader) thread: the socket is not read,
        so no PINGRESP can be seen, but a PINGREQ every keepalive/2 keeps the broker from closing the
        connection (it closes one that sends nothing for 1.5 × keepalive). The PINGRESPs wait in the socket."""
        keepalive = self._keepalive_now
        if keepalive and self._sock is not None and time.monotonic() - self._last_send >= keepalive / 2:
            try:
                self._send(b"\xc0\x00")  # PINGREQ
            except OSError:
                pass  # the reader finds the connection closed when it reads again

    def disconnect(self) -> None:
        self._stop.set()
        self._wake.set()
        sock = self._sock
        if sock is not None:
            try:
                # DISCONNECT (v5: reason 0, normal disconnection, no properties): a clean close. The session
                # stays for its expiry interval — with --session-expiry 0 (from CONNECT) the broker ends it now.
                self._send(b"\xe0\x00")
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
                w = self.worker
                self._v5 = w.protocol == 5
                self._send(connect_packet(w.client_id, self.keepalive, 5 if self._v5 else 311,
                                          w.session_expiry, w.receive_maximum))
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
        v5 = self._v5
        deadline = time.monotonic() + self.CONNECT_TIMEOUT_S
        while True:
            packets, used = parse(data, 0, v5)
            if packets:
                break
            if time.monotonic() > deadline:
                raise ProtocolError("no CONNACK")
            chunk = sock.recv(RECV_BYTES)
            if not chunk:
                raise ConnectionError("connection closed before CONNACK")
            data += chunk
        kind, _flags, body = packets[0]
        if kind != CONNACK or len(body) < 2 or (not v5 and len(body) != 2):
            raise ProtocolError(f"expected CONNACK, got packet type {kind}")
        code = body[1]
        self._keepalive_now = self.keepalive
        self.connack_properties = props = {}
        if v5 and len(body) > 2:
            props, _end = read_properties(body, 2)
            self.connack_properties = props
            rc = Code(code, reason_text(code, props) if code else "accepted", is_failure=code >= 0x80)
            if SERVER_KEEP_ALIVE in props:  # the server's keepalive replaces ours (MQTT 5, 3.2.2.3.14)
                self._keepalive_now = props[SERVER_KEEP_ALIVE]
        else:  # 3.1.1 — also a 3.1.1-only broker refusing protocol level 5 (return code 1)
            rc = Code(code, CONNACK_REASONS.get(code, f"refused ({code})") if code else "accepted",
                      is_failure=code != 0)
        self.worker._on_connect(self, None, Flags(bool(body[0] & 1)), rc, props or None)
        if rc.is_failure:
            raise ProtocolError(f"CONNACK: {rc}")
        # Anything after the CONNACK in the same read (a resumed session's messages) is handled by _read.
        rest = packets[1:]
        self._pending = rest
        return data[used:]

    def _read(self, sock: socket.socket, data: bytes) -> None:
        keepalive = self._keepalive_now
        v5 = self._v5
        sock.settimeout(min(1.0, keepalive / 2) if keepalive else 1.0)
        self._ping_sent = 0.0
        on_message = self.worker._on_message
        pending, self._pending = self._pending, []
        self._dispatch(pending, on_message)
        while not self._stop.is_set():
            packets, used = parse(data, 0, v5)
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
                props, start = read_properties(body, 2) if self._v5 else ({}, 2)
                if start >= len(body):
                    raise ProtocolError("malformed SUBACK")
                codes = [Code(c, (reason_text(c, props) if self._v5 else "failure") if c >= 0x80
                              else f"granted QoS {c}", c >= 0x80) for c in body[start:]]
                self.worker._on_subscribe(self, None, (body[0] << 8) | body[1], codes, props or None)
                bad = [c for c in codes if c.is_failure]
                if bad:
                    raise ProtocolError(f"SUBSCRIBE to {self.worker.subscription} refused (SUBACK {bad[0]})")
            elif kind == DISCONNECT:  # MQTT 5: the server closes the connection, with a reason
                code = body[0] if body else 0
                props = read_properties(body, 1)[0] if len(body) > 1 else {}
                raise ConnectionError(f"the broker disconnected us: {reason_text(code, props)}")
            elif kind in (PUBACK, CONNACK):
                raise ProtocolError(f"unexpected packet type {kind}")
            # anything else (e.g. UNSUBACK) is ignored
