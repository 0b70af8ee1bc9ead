#!/usr/bin/env python
"""The benchmark's gateway fleet: a minimal MQTT 3.1.1 publisher on a raw socket (no Django, no paho).

    python bench/telemetry_publish.py SPEC.json        (run by bench/telemetry.py; prints a JSON result)

paho's Python client spends tens of microseconds per message; this one frames pre-built PUBLISH packets
(QoS 1) and writes them in ~1 MB chunks, and a reader thread only counts the broker's 4-byte PUBACKs. That
keeps the publisher's share of the two cores small: its own ceiling is measured separately (mode
"ceiling": no subscriber, publish → all PUBACKs).

SPEC (JSON):
  site        [[credit_code, gateway_code, [point codes …]], …]   (one entry per gateway)
  per_msg     readings per message (1 … points per gateway)
  messages    total messages (round-robin over the gateways; each gateway gets messages / gateways)
  seq_start   first sequence number of every gateway in this run
  rate        messages/s to offer; 0 = as fast as possible (then every packet is built before timing)
  excursions  paced mode: excursions per second (one reading at EXCURSION_VALUE in an otherwise normal
              message, Poisson arrivals); their send times are reported for the latency measurement
  excursion_every  pre-built mode: every N-th message carries an excursion
  port, client_id, max_unacked
Readings are stamped with the publish time (paced mode) or with the run's start time plus the message's
scheduled offset (pre-built mode).
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import sys
import threading
import time

EXCURSION_VALUE = "16.5"  # between H (15) and HH (18) of the bench points: raises H once, cleared next scan


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_string(s: bytes) -> bytes:
    return struct.pack("!H", len(s)) + s


class Templates:
    """Payload templates per (gateway, slice of points): `pre + seq + body.replace(TS, ts)`."""

    TS = b"@T"

    def __init__(self, site, per_msg: int, seed: int = 7):
        rng = random.Random(seed)
        self.per_msg = per_msg
        self.gateways = []
        for credit, gw, points in site:
            slices = [points[i:i + per_msg] for i in range(0, len(points), per_msg)]
            readings = []  # per slice: list of reading texts
            bodies = []
            for sl in slices:
                texts = [f'{{"point":"{p}","ts":@T,"value":{rng.uniform(4, 12):.2f},"quality":0}}' for p in sl]
                readings.append(texts)
                bodies.append(("," + '"readings":[' + ",".join(texts) + "]}").encode())
            topic = f"worksafe/v1/{credit}/{gw}/data".encode()
            self.gateways.append({"topic": mqtt_string(topic), "pre": f'{{"gateway":"{gw}","seq":'.encode(),
                                  "bodies": bodies, "readings": readings, "points": [list(s) for s in slices],
                                  "code": gw, "credit": credit})

    def payload(self, g: int, seq: int, ts_ms: int, excursion: int | None = None) -> bytes:
        gw = self.gateways[g]
        k = seq % len(gw["bodies"])
        if excursion is None:
            body = gw["bodies"][k]
        else:
            texts = list(gw["readings"][k])
            j = excursion % len(texts)
            head, _sep, _old = texts[j].rpartition('"value":')
            texts[j] = head + '"value":' + EXCURSION_VALUE + ',"quality":0}'
            body = ("," + '"readings":[' + ",".join(texts) + "]}").encode()
        return gw["pre"] + str(seq).encode() + body.replace(self.TS, str(ts_ms).encode())

    def excursion_point(self, g: int, seq: int, excursion: int) -> str:
        gw = self.gateways[g]
        sl = gw["points"][seq % len(gw["points"])]
        return sl[excursion % len(sl)]


def publish_packet(topic: bytes, pid: int, payload: bytes) -> bytes:
    body_len = len(topic) + 2 + len(payload)
    return b"\x32" + varint(body_len) + topic + struct.pack("!H", pid) + payload


class Connection:
    def __init__(self, port: int, client_id: str):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        var = mqtt_string(b"MQTT") + b"\x04\x02" + struct.pack("!H", 0)  # v3.1.1, clean session, no keepalive
        payload = mqtt_string(client_id.encode())
        self.sock.sendall(b"\x10" + varint(len(var) + len(payload)) + var + payload)
        connack = self._read_exact(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise SystemExit(f"CONNACK refused: {connack!r}")
        self.acked = 0
        self.all_acked = threading.Event()
        self.expected = None
        self.last_ack_at = 0.0
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise SystemExit("broker closed the connection")
            buf += chunk
        return buf

    def _read(self) -> None:
        pending = 0
        while True:
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError:
                return
            if not chunk:
                return
            pending += len(chunk)  # every packet from the broker is now a 4-byte PUBACK
            n, pending = divmod(pending, 4)
            with self.cond:
                self.acked += n
                self.last_ack_at = time.time()
                self.cond.notify_all()
                if self.expected is not None and self.acked >= self.expected:
                    self.all_acked.set()

    def wait_window(self, sent: int, window: int) -> None:
        with self.cond:
            while sent - self.acked > window:
                self.cond.wait(1.0)

    def close(self) -> None:
        try:
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
            self.sock.close()
        except OSError:
            pass


def run(spec: dict) -> dict:
    t = Templates(spec["site"], spec["per_msg"], spec.get("seed", 7))
    gws = len(t.gateways)
    total = spec["messages"] - spec["messages"] % gws
    seq0 = spec["seq_start"]
    rate = spec.get("rate", 0)
    exc_per_s = spec.get("excursions", 0.0)
    window = spec.get("max_unacked", 30000)
    conn = Connection(spec["port"], spec.get("client_id", f"bench-pub-{os.getpid()}"))
    conn.expected = total
    excursions = []  # [credit, point, ts_ms, sent_at]
    rng = random.Random(spec.get("seed", 7) + 1)
    pid = 0
    cpu0 = time.process_time()

    def packet(i: int, ts_ms: int, exc: bool) -> bytes:
        nonlocal pid
        g, r = i % gws, i // gws
        seq = seq0 + r
        pid = pid % 65535 + 1
        if exc:
            j = rng.randrange(t.per_msg)
            excursions.append([t.gateways[g]["credit"], t.excursion_point(g, seq, j), ts_ms, None])
            body = t.payload(g, seq, ts_ms, excursion=j)
        else:
            body = t.payload(g, seq, ts_ms)
        return publish_packet(t.gateways[g]["topic"], pid, body)

    if not rate:
        # Pre-build everything (untimed), then write as fast as the broker takes it.
        base = spec.get("base_ms") or int(time.time() * 1000)
        step = spec.get("excursion_every", 0)
        packets = [packet(i, base + (i // gws) * 10, bool(step) and i % step == step // 2) for i in range(total)]
        build_s = time.process_time() - cpu0
        started = time.time()
        chunk, size, sent = [], 0, 0
        for p in packets:
            chunk.append(p)
            size += len(p)
            if size >= 1 << 20:
                conn.wait_window(sent, window)
                conn.sock.sendall(b"".join(chunk))
                sent += len(chunk)
                chunk, size = [], 0
        if chunk:
            conn.sock.sendall(b"".join(chunk))
            sent += len(chunk)
        for e in excursions:
            e[3] = started  # pre-built: only the ts in the reading is meaningful
    else:
        build_s = 0.0
        started = time.time()
        sent = 0
        next_exc = started + (rng.expovariate(exc_per_s) if exc_per_s else 1e18)
        while sent < total:
            now = time.time()
            due = min(total, int((now - started) * rate) + 1)
            if due > sent:
                now_ms = int(now * 1000)
                chunk = []
                for i in range(sent, due):
                    exc = now >= next_exc
                    if exc:
                        next_exc += rng.expovariate(exc_per_s)
                    chunk.append(packet(i, now_ms, exc))
                conn.wait_window(sent, window)
                sent_at = time.time()
                conn.sock.sendall(b"".join(chunk))
                for e in excursions:
                    if e[3] is None:
                        e[3] = sent_at
                sent = due
            time.sleep(0.002)
    sent_done = time.time()
    conn.all_acked.wait(600)
    result = {"messages": total, "readings": total * t.per_msg, "started": started, "sent_done": sent_done,
              "acked_done": conn.last_ack_at, "acked": conn.acked, "build_cpu_s": build_s,
              "cpu_s": time.process_time() - cpu0 - build_s, "excursions": excursions,
              "bytes": sum(len(t.payload(g, seq0, 0)) for g in range(min(gws, 10))) / min(gws, 10)}
    conn.close()
    return result


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    out = run(spec)
    with open(spec["result"], "w") as fh:
        json.dump(out, fh)
