"""The lean MQTT 5 / 3.1.1 client of the ingest worker (mqtt_lean.py): its packets on synthetic bytes, and the
worker with `client="lean"` against the real broker (127.0.0.1:1883) — stored once, acknowledged only after the
commit, redelivered when processing failed or the connection dropped before the acknowledgement, and with
session expiry 0 the session ends with the connection.

The broker tests reuse test_mqtt.py's fixtures (own credit code, client ids and group per test; sessions
discarded at the end).
"""

import json
import socket
import threading
import time

import pytest

from worksafe.monitoring import store
from worksafe.monitoring.ingest import Ingestor
from worksafe.monitoring.models import Alarm
from worksafe.monitoring.mqtt import Worker, check_health
from worksafe.monitoring.mqtt_lean import (
    CONNACK,
    DISCONNECT,
    PINGRESP,
    SUBACK,
    LeanClient,
    ProtocolError,
    Publish,
    connect_packet,
    encode_length,
    parse,
    puback,
    read_properties,
    subscribe_packet,
)
from worksafe.monitoring.testing import payload
from worksafe.monitoring.tests import test_mqtt as base
from worksafe.monitoring.tests.test_mqtt import BROKER, DB, FailingIngestor, Running, publish, wait_for

_broker = base._broker  # the broker check (autouse) and the per-test enterprise, topics and client ids
site = base.site


# --- the parser ---------------------------------------------------------------------------------------------

def publish_bytes(topic: str, body: bytes, mid: int = 0, qos: int = 1, dup: bool = False,
                  retain: bool = False, props: bytes | None = None) -> bytes:
    """A PUBLISH; with `props` (even b"") an MQTT 5 one: their length, then the properties."""
    t = topic.encode()
    var = len(t).to_bytes(2, "big") + t + (mid.to_bytes(2, "big") if qos else b"")
    if props is not None:
        var += encode_length(len(props)) + props
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
    assert puback(258) == b"\x40\x02\x01\x02"  # also the v5 form: reason code 0 (success) left out


def test_outgoing_packets_v5():
    # Protocol level 5, Clean Start off, keepalive 30, properties: Session Expiry Interval 604800 (0x11) and
    # Receive Maximum 2000 (0x21).
    assert connect_packet("w1", 30, 5, 604_800, 2000) == (
        b"\x10\x17\x00\x04MQTT\x05\x00\x00\x1e" + b"\x08\x11\x00\x09\x3a\x80\x21\x07\xd0" + b"\x00\x02w1")
    body = connect_packet("w1", 30, 5, 0, 70_000)[2:]  # Receive Maximum capped at 65535; session expiry 0
    assert body[10:19] == b"\x08\x11\x00\x00\x00\x00\x21\xff\xff"
    assert connect_packet("w1", 30, 5, 0, 0)[-6:-4] == b"\x00\x01"  # Receive Maximum 0 is a protocol error
    # No properties, then the topic filter and its options (QoS 1; No Local, Retain As Published, Retain Handling 0).
    assert subscribe_packet(1, "$share/g/t/+", 1, 5) == b"\x82\x12\x00\x01\x00\x00\x0c$share/g/t/+\x01"


def test_v5_publish_properties_are_skipped():
    props = (b"\x02\x00\x00\x0e\x10"  # Message Expiry Interval 3600
             + b"\x0b\x81\x01"  # Subscription Identifier 129 (a 2-byte variable byte integer)
             + b"\x03\x00\x10application/json"  # Content Type
             + b"\x26\x00\x01k\x00\x01v")  # User Property
    long_props = b"\x26\x00\x01k\x00\x7e" + b"v" * 126  # a property length of 2 bytes (131)
    data = (publish_bytes("a/b", b"one", mid=1, props=b"")
            + publish_bytes("a/b", b"two", mid=2, props=props)
            + publish_bytes("a/c", b"three", qos=0, retain=True, props=b"\x01\x01")  # Payload Format Indicator
            + publish_bytes("a/d", b"", mid=3, props=long_props)
            + publish_bytes("a/e", b"x" * 20_000, mid=4, dup=True, props=props))
    packets, used = parse(data, 0, True)
    assert used == len(data)
    assert packets == [Publish("a/b", b"one", 1, 1), Publish("a/b", b"two", 2, 1),
                       Publish("a/c", b"three", 0, 0, False, True), Publish("a/d", b"", 3, 1),
                       Publish("a/e", b"x" * 20_000, 4, 1, True)]
    for cut in range(len(data) + 1):  # split across two reads anywhere
        got, used = parse(data[:cut], 0, True)
        more, _used = parse(data[:cut][used:] + data[cut:], 0, True)
        assert got + more == packets, cut


def test_malformed_v5_publish_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        parse(b"\x32\x05\x00\x01a\x00\x01", 0, True)  # no property length
    with pytest.raises(ProtocolError):
        parse(b"\x32\x08\x00\x01a\x00\x01\x05\x01\x01", 0, True)  # properties longer than the packet
    with pytest.raises(ProtocolError):
        parse(b"\x32\x0a\x00\x01a\x00\x01\xff\xff\xff\xff\x01", 0, True)  # property length > 4 bytes


def test_v5_properties_of_every_type():
    block = (b"\x24\x01" + b"\x21\x00\x14" + b"\x27\x00\x10\x00\x00" + b"\x0b\x80\x01" + b"\x1f\x00\x02ok"
             + b"\x09\x00\x02\xff\x00" + b"\x26\x00\x01a\x00\x01b" + b"\x26\x00\x01c\x00\x00")
    body = b"\x00\x00" + encode_length(len(block)) + block + b"\x01"
    props, end = read_properties(body, 2)
    assert props == {0x24: 1, 0x21: 20, 0x27: 1 << 20, 0x0B: 128, 0x1F: "ok", 0x09: b"\xff\x00",
                     0x26: [("a", "b"), ("c", "")]}
    assert body[end:] == b"\x01"
    for bad in (b"\x03\x7f\x00", b"\x02\x21\x00", b"\x03\x1f\x00\x05", b"\x02\x99\x00"):  # truncated, unknown
        with pytest.raises(ProtocolError):
            read_properties(b"\x00\x00" + bad, 2)


class _Sock:
    def __init__(self):
        self.writes = []

    def sendall(self, data):
        self.writes.append(data)


def test_acks_of_a_batch_go_out_in_one_write_and_only_for_the_current_connection():
    worker = Worker(client_id="unit-test-lean", client="lean")
    assert isinstance(worker.client, LeanClient) and worker.protocol == 5
    worker.client._sock = sock = _Sock()
    worker.generation = 3
    batch = [("t", b"a", 7, 1, 3), ("t", b"b", 8, 1, 2), ("t", b"a", 7, 1, 3), ("t", b"c", 9, 1, 3),
             ("t", b"d", 0, 0, 3)]
    worker._ack(batch)
    assert sock.writes == [puback(7) + puback(9)]
    assert (worker.stats.messages, worker.stats.stale_skipped) == (2, 1)


class _Recorder:
    """Stands in for the worker: records the callbacks the lean client makes."""

    client_id = "unit-test-lean"
    subscription = "$share/g/t/+"

    def __init__(self, protocol=5, session_expiry=0, receive_maximum=2000):
        self.protocol, self.session_expiry, self.receive_maximum = protocol, session_expiry, receive_maximum
        self.calls = []

    def _on_connect(self, client, userdata, flags, rc, props):
        self.calls.append(("connect", flags.session_present, rc.value, rc.is_failure, str(rc)))

    def _on_subscribe(self, client, userdata, mid, codes, props):
        self.calls.append(("subscribe", mid, [(c.value, c.is_failure) for c in codes]))

    def _on_message(self, client, userdata, message):
        self.calls.append(("message", message.mid, message.payload))


class _ReadSock:
    def __init__(self, data: bytes):
        self.data = data

    def recv(self, _n):
        data, self.data = self.data, b""
        return data


def connack(v5: bool, client: LeanClient, data: bytes):
    client._v5 = v5
    return client._connack(_ReadSock(data))


def test_v5_connack_with_properties_and_a_message_after_it():
    worker = _Recorder()
    client = LeanClient(worker)
    props = b"\x22\x00\x0a\x21\x00\x14\x13\x00\x05"  # Topic Alias Max 10, Receive Max 20, Server Keep Alive 5
    data = b"\x20" + encode_length(3 + len(props)) + b"\x01\x00" + encode_length(len(props)) + props
    rest = connack(True, client, data + publish_bytes("a/b", b"m", mid=9, props=b"") + b"\x32")
    assert worker.calls == [("connect", True, 0, False, "accepted")]
    assert client._pending == [Publish("a/b", b"m", 9, 1)] and rest == b"\x32"
    assert client.connack_properties[0x21] == 20 and client._keepalive_now == 5  # the server's keepalive wins


@pytest.mark.parametrize(("v5", "data", "text"), [
    (True, b"\x20\x03\x00\x87\x00", "not authorized (0x87)"),
    (True, b"\x20\x08\x00\x85\x05\x1f\x00\x02no", "client identifier not valid (0x85): no"),
    (True, b"\x20\x02\x00\x01", "unacceptable protocol version"),  # a 3.1.1-only broker
    (False, b"\x20\x02\x00\x05", "not authorised")])
def test_connack_refusal_is_reported_and_drops_the_connection(v5, data, text):
    worker = _Recorder()
    with pytest.raises(ProtocolError, match=r"CONNACK: .*" + text.split(" (")[0]):
        connack(v5, LeanClient(worker), data)
    [(what, _present, _code, failure, shown)] = worker.calls
    assert what == "connect" and failure and shown == text


def test_v5_suback_reason_codes():
    worker = _Recorder()
    client = LeanClient(worker)
    client._dispatch(parse(b"\x90\x04\x00\x01\x00\x01", 0, True)[0], worker._on_message)  # granted QoS 1
    assert worker.calls == [("subscribe", 1, [(1, False)])]
    suback = b"\x90\x09\x00\x01\x05\x1f\x00\x02no\x9e"  # a Reason String, then 0x9E
    with pytest.raises(ProtocolError, match=r"shared subscriptions not supported \(0x9e\): no"):
        client._dispatch(parse(suback, 0, True)[0], worker._on_message)
    assert worker.calls[-1] == ("subscribe", 1, [(0x9E, True)])
    with pytest.raises(ProtocolError):
        client._dispatch(parse(b"\x90\x03\x00\x01\x00", 0, True)[0], worker._on_message)  # no reason code


def test_server_disconnect_is_a_dropped_connection():
    worker = _Recorder()
    client = LeanClient(worker)
    packets, _used = parse(b"\xe0\x01\x8e", 0, True)
    assert packets == [(DISCONNECT, 0, b"\x8e")]
    with pytest.raises(ConnectionError, match=r"session taken over \(0x8e\)"):
        client._dispatch(packets, worker._on_message)
    with pytest.raises(ConnectionError, match=r"server shutting down \(0x8b\): bye"):
        client._dispatch(parse(b"\xe0\x08\x8b\x06\x1f\x00\x03bye", 0, True)[0], worker._on_message)
    with pytest.raises(ConnectionError, match=r"success \(0x00\)"):
        client._dispatch(parse(b"\xe0\x00", 0, True)[0], worker._on_message)


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


def session_present(client_id: str) -> bool:
    """Whether the broker holds a session for `client_id` (an MQTT 5 connect with Clean Start off and session
    expiry 0: it also ends that session)."""
    s = socket.create_connection(BROKER, timeout=5)
    s.sendall(connect_packet(client_id, 0, 5, 0, 10))
    data, packets = b"", []
    while not packets:
        chunk = s.recv(4096)
        assert chunk, "broker closed the probe connection"
        data += chunk
        packets, _used = parse(data, 0, True)
    kind, _flags, body = packets[0]
    assert kind == CONNACK and body[1] == 0, packets[0]
    s.sendall(b"\xe0\x00")
    s.close()
    return bool(body[0] & 1)


@DB
def test_lean_stored_once_with_duplicates_and_nothing_left_unacknowledged(site):
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    m = {seq: payload("GW01", seq, [("LT-1001", t + seq * 1000, v)]) for seq, v in [(1, 10.0), (2, 16.0), (3, 10.0)]}
    sent = [m[1], m[2], m[2], m[3], m[1], b"not json"]
    with lean(site) as worker:
        assert worker.protocol == 5 and worker.client.connack_properties  # MQTT 5 (a v5 CONNACK has properties)
        publish(ent, sent)
        assert wait_for(lambda: worker.stats.messages == len(sent)), worker.stats
        assert (worker.stats.stored, worker.stats.duplicates, worker.stats.rejected) == (3, 2, 1)
    assert len(store.stored_messages(gw.pk)) == 3
    assert Alarm.objects.filter(point__enterprise=ent).count() == 1
    many = [payload("GW01", seq, [("LT-1001", t + seq * 1000, 5.0)]) for seq in range(4, 204)]
    with lean(site, queue_size=8, max_batch=5) as worker:  # the session resumes; a tiny queue: backpressure
        publish(ent, many)
        assert wait_for(lambda: worker.stats.messages == 200), worker.stats
        assert worker.stats.stored == 200 and worker.stats.batches >= 40
    with lean(site) as again:  # every message was acknowledged: the broker has nothing to redeliver
        time.sleep(1.0)
        assert again.stats.messages == 0 and again.queue.qsize() == 0
    assert len(store.stored_messages(gw.pk)) == 203


@DB
@pytest.mark.parametrize("protocol", [5, 311])
def test_lean_not_acknowledged_when_processing_fails_and_redelivered_to_the_next_session(site, monkeypatch, protocol):
    ent, gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    sent = [payload("GW01", seq, [("LT-1001", t + seq * 1000, 5.0)]) for seq in range(1, 5)]
    failing = FailingIngestor()
    monkeypatch.setattr(Worker, "BACKOFF_FIRST_S", 0.05)
    with lean(site, ingestor=failing, protocol=protocol) as worker:
        assert bool(worker.client.connack_properties) == (protocol == 5)
        publish(ent, sent)
        assert wait_for(lambda: failing.calls >= 3)
        assert worker.stats.messages == 0 and worker.health()["status"] == "unhealthy"
    assert len(store.stored_messages(gw.pk)) == 0
    with lean(site, protocol=protocol) as worker:  # same client id: the broker redelivers all four
        assert wait_for(lambda: worker.stats.messages == 4), worker.stats
        assert worker.stats.stored == 4
    assert len(store.stored_messages(gw.pk)) == 4


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
    assert len(store.stored_messages(gw.pk)) == 10
    with lean(site) as again:
        time.sleep(1.0)
        assert again.stats.messages == 0


@DB
def test_lean_keepalive_keeps_an_idle_connection(site):
    with lean(site, keepalive=1) as worker:
        time.sleep(2.5)  # the broker drops a client silent for 1.5 × keepalive
        assert worker.connected.is_set() and worker.client.connections == 1


@DB
def test_lean_session_expiry_zero_ends_the_session_when_the_worker_stops(site):
    """Retiring a worker (`--session-expiry 0`): it resumes its session and takes the queued messages, and when it
    disconnects the broker ends the session — nothing is queued for its client id any more."""
    ent, _gw, _tag, _ids = site
    t = int(time.time() * 1000) - 60_000
    with lean(site) as worker:  # a worker with a session that outlives its connection
        client_id = worker.client_id
    assert session_present(client_id)  # (the probe ended it: start again)
    with lean(site):
        pass
    publish(ent, [payload("GW01", seq, [("LT-1001", t + seq * 1000, 5.0)]) for seq in (1, 2)])  # queued for it
    retiring = lean(site)
    retiring.worker.session_expiry = 0
    with retiring as worker:
        assert wait_for(lambda: worker.stats.messages == 2), worker.stats  # the queued share is taken over
    publish(ent, [payload("GW01", 3, [("LT-1001", t + 3000, 5.0)])])
    assert not session_present(client_id)



def test_a_reader_held_by_the_full_queue_still_sends_pingreq():
    """MQTT: a broker closes a connection that sends nothing for 1.5 × keepalive (EMQX does; the Mosquitto
    2.0.11 of the broker test below did not, so this is checked on the socket)."""
    client = LeanClient(_Recorder())
    ours, broker = socket.socketpair()
    broker.settimeout(0.5)
    try:
        client._sock, client._keepalive_now = ours, 2
        client._last_send = time.monotonic() - 0.5
        client.keepalive_while_blocked()  # sent something 0.5 s ago: nothing yet
        client._last_send = time.monotonic() - 1.0
        client.keepalive_while_blocked()  # keepalive / 2 without sending: PINGREQ
        assert broker.recv(16) == b"\xc0\x00"
        client.keepalive_while_blocked()  # just sent
        with pytest.raises(TimeoutError):
            broker.recv(16)
        assert client._ping_sent == 0.0  # its PINGRESP cannot be read while blocked: no deadline set
    finally:
        ours.close()
        broker.close()

class SlowIngestor:
    """A database that answers only when the test says so (a long lock, a stalled disk)."""

    def __init__(self):
        self.release = threading.Event()
        self.inner = None

    def process(self, messages):
        self.release.wait(30)
        if self.inner is None:
            self.inner = Ingestor()
        return self.inner.process(messages)

    @property
    def last(self):
        return self.inner.last if self.inner is not None else {}

    def flush_last_values(self, force=False):
        return self.inner.flush_last_values(force) if self.inner is not None else 0


@DB
def test_a_long_database_stall_keeps_the_connection_and_shows_in_the_health_file(site, tmp_path, monkeypatch):
    """The reader thread is held by the full queue for longer than 1.5 × keepalive (it sends PINGREQ meanwhile,
    see the test above); the connection survives, and the health file stays fresh and reports the stall."""
    ent, gw, _tag, _ids = site
    monkeypatch.setattr(Worker, "STALL_S", 1.0)
    health = tmp_path / "ingest.json"
    slow = SlowIngestor()
    t = int(time.time() * 1000) - 60_000
    sent = [payload("GW01", seq, [("LT-1001", t + seq, 5.0)]) for seq in range(1, 6)]
    with Running(site, "stall", client="lean", keepalive=2, queue_size=1, max_batch=1, ingestor=slow,
                      health_file=health) as worker:
        publish(ent, sent)
        assert wait_for(lambda: json.loads(health.read_text())["database"] == "stalled")
        ok, why = check_health(health)
        assert not ok and "waited" in why
        time.sleep(4.5)  # > 1.5 × keepalive with the reader thread held by the full queue
        assert time.time() - json.loads(health.read_text())["updated"] < 2.5  # rewritten while stalled
        assert worker.client.connections == 1 and worker.connected.is_set()
        slow.release.set()
        assert wait_for(lambda: worker.stats.messages == 5), worker.stats
        assert wait_for(lambda: check_health(health)[0])
        assert worker.client.connections == 1
    assert len(store.stored_messages(gw.pk)) == 5
