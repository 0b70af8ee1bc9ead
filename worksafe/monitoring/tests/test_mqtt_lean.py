"""The lean MQTT 3.1.1 client of the ingest worker (mqtt_lean.py): its packet parser on synthetic bytes, and the
worker with `client="lean"` against the real broker (127.0.0.1:1883) — stored once, acknowledged only after the
commit, redelivered when processing failed or the connection dropped before the acknowledgement.

The broker tests reuse test_mqtt.py's fixtures (own credit code, client ids and group per test; sessions
discarded at the end).
"""

import socket
import threading
import time

import pytest

from worksafe.monitoring.ingest import Ingestor
from worksafe.monitoring.models import Alarm, ReadingBatch
from worksafe.monitoring.mqtt import Worker
from worksafe.monitoring.mqtt_lean import (
    CONNACK,
    PINGRESP,
    SUBACK,
    LeanClient,
    ProtocolError,
    Publish,
    connect_packet,
    encode_length,
    parse,
    puback,
    subscribe_packet,
)
from worksafe.monitoring.testing import payload
from worksafe.monitoring.tests import test_mqtt as base
from worksafe.monitoring.tests.test_mqtt import BROKER, DB, FailingIngestor, Running, publish, wait_for

_broker = base._broker  # the broker check (autouse) and the per-test enterprise, topics and client ids
site = base.site


# --- the parser ---------------------------------------------------------------------------------------------

def publish_bytes(topic: str, body: bytes, mid: int = 0, qos: int = 1, dup: bool = False,
                  retain: bool = False) -> bytes:
    t = topic.encode()
    var = len(t).to_bytes(2, "big") + t + (mid.to_bytes(2, "big") if qos else b"")
    first = 0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    return bytes([first]) + encode_length(len(var) + len(body)) + var + body


@pytest.mark.parametrize(("n", "encoded"), [
    (0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"), (16_384, b"\x80\x80\x01"),
    (2_097_151, b"\xff\xff\x7f"), (2_097_152, b"\x80\x80\x80\x01"), (268_435_455, b"\xff\xff\xff\x7f")])
def test_remaining_length_is_one_to_four_bytes(n, encoded):
    assert encode_length(n) == encoded


def test_remaining_length_beyond_four_bytes_is_refused():
    with pytest.raises(ValueError):
        encode_length(268_435_456)
    with pytest.raises(ProtocolError):
        parse(b"\x30\xff\xff\xff\xff\x01" + b"x" * 10)


@pytest.mark.parametrize("size", [0, 100, 200, 20_000, 2_100_000])  # remaining length of 1, 2, 2, 3, 4 bytes
def test_publish_of_every_remaining_length_size(size):
    body = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    data = publish_bytes("worksafe/v1/X/GW01/data", body, mid=65535)
    packets, used = parse(data)
    assert used == len(data)
    assert packets == [Publish("worksafe/v1/X/GW01/data", body, 65535, 1, False, False)]


def test_many_packets_in_one_read_with_qos0_dup_retain_and_control_packets():
    data = (b"\x20\x02\x01\x00"  # CONNACK, session present
            + publish_bytes("a/b", b"one", mid=1)
            + publish_bytes("a/c", b"two", qos=0, retain=True)
            + b"\x90\x03\x00\x01\x01"  # SUBACK, granted QoS 1
            + publish_bytes("a/b", b"three", mid=1, dup=True)
            + b"\xd0\x00")  # PINGRESP
    packets, used = parse(data)
    assert used == len(data)
    assert packets == [(CONNACK, 0, b"\x01\x00"), Publish("a/b", b"one", 1, 1, False, False),
                       Publish("a/c", b"two", 0, 0, False, True), (SUBACK, 0, b"\x00\x01\x01"),
                       Publish("a/b", b"three", 1, 1, True, False), (PINGRESP, 0, b"")]


def test_packets_split_across_reads_at_every_byte():
    stream = (publish_bytes("t/1", b"x" * 300, mid=7) + publish_bytes("t/2", b"", mid=8)
              + publish_bytes("t/3", b"y" * 20_000, mid=9) + b"\xd0\x00")
    expected, _used = parse(stream)
    assert len(expected) == 4
    for cut in range(len(stream) + 1):  # two reads: stream[:cut], then the rest
        got, used = parse(stream[:cut])
        rest = stream[:cut][used:] + stream[cut:]
        more, used2 = parse(rest)
        assert got + more == expected and used2 == len(rest), cut
    # And one byte per read, the way the client accumulates them.
    got, data = [], b""
    for i in range(len(stream)):
        data += stream[i:i + 1]
        packets, used = parse(data)
        got += packets
        data = data[used:]
    assert got == expected and data == b""


def test_malformed_publish_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        parse(b"\x32\x03\x00\x05a")  # topic longer than the packet
    with pytest.raises(ProtocolError):
        parse(b"\x36\x05\x00\x01ax\x01")  # QoS 3


def test_outgoing_packets():
    assert connect_packet("w1", 30) == b"\x10\x0e\x00\x04MQTT\x04\x00\x00\x1e\x00\x02w1"  # clean_session=0
    assert subscribe_packet(1, "$share/g/t/+", 1) == b"\x82\x11\x00\x01\x00\x0c$share/g/t/+\x01"
    assert puback(258) == b"\x40\x02\x01\x02"


class _Sock:
    def __init__(self):
        self.writes = []

    def sendall(self, data):
        self.writes.append(data)


def test_acks_of_a_batch_go_out_in_one_write_and_only_for_the_current_connection():
    worker = Worker(client_id="unit-test-lean", client="lean")
    assert isinstance(worker.client, LeanClient) and worker.protocol == 311
    worker.client._sock = sock = _Sock()
    worker.generation = 3
    batch = [("t", b"a", 7, 1, 3), ("t", b"b", 8, 1, 2), ("t", b"a", 7, 1, 3), ("t", b"c", 9, 1, 3),
             ("t", b"d", 0, 0, 3)]
    worker._ack(batch)
    assert sock.writes == [puback(7) + puback(9)]
    assert (worker.stats.messages, worker.stats.stale_skipped) == (2, 1)


# --- against the broker -------------------------------------------------------------------------------------

def lean(site, suffix="a", **options):
    return Running(site, suffix, client="lean", **options)


def take_over_session(client_id: str) -> None:
    """Connect with the worker's client id: the broker drops the worker's connection (session takeover)."""
    s = socket.create_connection(BROKER, timeout=5)
    s.sendall(connect_packet(client_id, 0))
    data = b""
    while len(data) < 4:
        chunk = s.recv(4096)
        assert chunk, "broker closed the takeover connection"
        data += chunk
    assert data[0] == 0x20 and data[3] == 0, data
    s.close()  # without PUBACK: whatever the broker sent us stays un-acknowledged in the session


@DB
def test_lean_stored_once_with_duplicates_and_nothing_left_unacknowledged(site):
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    m = {seq: payload("GW01", seq, [("LT-1001", t + seq * 1000, v)]) for seq, v in [(1, 10.0), (2, 16.0), (3, 10.0)]}
    sent = [m[1], m[2], m[2], m[3], m[1], b"not json"]
    with lean(site) as worker:
        publish(ent, sent)
        assert wait_for(lambda: worker.stats.messages == len(sent)), worker.stats
        assert (worker.stats.stored, worker.stats.duplicates, worker.stats.rejected) == (3, 2, 1)
    assert ReadingBatch.objects.filter(gateway_id=gw.pk).count() == 3
    assert Alarm.objects.filter(point__enterprise=ent).count() == 1
    many = [payload("GW01", seq, [("LT-1001", t + seq * 1000, 5.0)]) for seq in range(4, 204)]
    with lean(site, queue_size=8, max_batch=5) as worker:  # the session resumes; a tiny queue: backpressure
        publish(ent, many)
        assert wait_for(lambda: worker.stats.messages == 200), worker.stats
        assert worker.stats.stored == 200 and worker.stats.batches >= 40
    with lean(site) as again:  # every message was acknowledged: the broker has nothing to redeliver
        time.sleep(1.0)
        assert again.stats.messages == 0 and again.queue.qsize() == 0
    assert ReadingBatch.objects.filter(gateway_id=gw.pk).count() == 203


@DB
def test_lean_not_acknowledged_when_processing_fails_and_redelivered_to_the_next_session(site, monkeypatch):
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    sent = [payload("GW01", seq, [("LT-1001", t + seq * 1000, 5.0)]) for seq in range(1, 5)]
    failing = FailingIngestor()
    monkeypatch.setattr(Worker, "BACKOFF_FIRST_S", 0.05)
    with lean(site, ingestor=failing) as worker:
        publish(ent, sent)
        assert wait_for(lambda: failing.calls >= 3)
        assert worker.stats.messages == 0 and worker.health()["status"] == "unhealthy"
    assert ReadingBatch.objects.filter(gateway_id=gw.pk).count() == 0
    with lean(site) as worker:  # same client id: the broker redelivers all four
        assert wait_for(lambda: worker.stats.messages == 4), worker.stats
        assert worker.stats.stored == 4
    assert ReadingBatch.objects.filter(gateway_id=gw.pk).count() == 4


class Gate:
    """The real pipeline, held inside its first batch until `release` is set."""

    def __init__(self):
        self.inner = Ingestor()
        self.entered = threading.Event()
        self.release = threading.Event()

    @property
    def last(self):
        return self.inner.last

    def flush_last_values(self, force=False):
        return self.inner.flush_last_values(force)

    def process(self, messages):
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(20)
        return self.inner.process(messages)


@DB
def test_lean_reconnects_after_the_broker_drops_it_and_never_acks_on_the_new_connection(site, monkeypatch):
    """The broker drops the connection while a batch is being processed: the batch commits, but it is not
    acknowledged on the new connection; the broker redelivers it there and those copies are duplicates."""
    ent, gw, tag, _ids = site
    monkeypatch.setattr(LeanClient, "BACKOFF_FIRST_S", 0.1)
    t = int(time.time() * 1000) - 60_000
    sent = [payload("GW01", seq, [("LT-1001", t + seq * 1000, 5.0)]) for seq in range(1, 6)]
    gate = Gate()
    with lean(site, ingestor=gate) as worker:
        publish(ent, sent)
        assert gate.entered.wait(10)
        take_over_session(worker.client_id)
        assert wait_for(lambda: worker.client.connections == 2 and worker.subscribed.is_set()), worker.health()
        gate.release.set()
        assert wait_for(lambda: worker.stats.stored + worker.stats.duplicates >= 10), worker.stats
        assert worker.stats.stale_skipped >= 1  # the first batch's messages: committed, left for redelivery
        assert worker.stats.stored == 5 and worker.stats.messages == 10 - worker.stats.stale_skipped
        more = [payload("GW01", seq, [("LT-1001", t + seq * 1000, 5.0)]) for seq in range(6, 11)]
        publish(ent, more)  # the new connection works
        assert wait_for(lambda: worker.stats.stored == 10), worker.stats
    assert ReadingBatch.objects.filter(gateway_id=gw.pk).count() == 10
    with lean(site) as again:
        time.sleep(1.0)
        assert again.stats.messages == 0


@DB
def test_lean_keepalive_keeps_an_idle_connection(site):
    with lean(site, keepalive=1) as worker:
        time.sleep(2.5)  # the broker drops a client silent for 1.5 × keepalive
        assert worker.connected.is_set() and worker.client.connections == 1
