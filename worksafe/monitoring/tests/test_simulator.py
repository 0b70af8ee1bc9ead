"""The gateway simulator: believable signals, never a reused sequence number, the imperfections on purpose,
and readings that go through the real ingest pipeline and raise and clear alarms."""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from worksafe.monitoring import simulator as sim
from worksafe.monitoring.choices import AlarmStatus
from worksafe.monitoring.models import Alarm, Gateway, ReadingBatch
from worksafe.monitoring.testing import make_gateway, make_point

pytestmark = pytest.mark.django_db
T0 = 1_800_000_000.0  # a fixed "now" for stepping the simulator by hand


class Collect:
    name = "collect"

    def __init__(self):
        self.sent: list[sim.Outgoing] = []

    def send(self, batch):
        self.sent.extend(batch)

    def close(self):
        pass


@pytest.fixture
def site(world):
    gw = make_gateway(world.ent_xm)
    level = make_point(world.ent_xm, "LT-1001", gateway=gw, sampling_period=5)  # L 2, H 15, HH 18, range 0–20
    gas = make_point(world.ent_xm, "GT-2001", gateway=gw, name="可燃气体", kind="flammable_gas", unit="%LEL",
                     range_low=0, range_high=100, low_low=None, low=None, high=25, high_high=50, deadband=1,
                     sampling_period=5)
    other = make_gateway(world.ent_fz, "GW09")
    make_point(world.ent_fz, "PT-3001", gateway=other, name="压力", kind="pressure", unit="MPa", range_low=0,
               range_high=4, low_low=None, low=0.2, high=2.5, high_high=3.0, deadband=0.05, sampling_period=10)
    return world, gw, level, gas


def run_steps(s: sim.Simulator, seconds: float, step: float = 1.0, start: float = T0) -> list[sim.Outgoing]:
    out = []
    t = start
    while t < start + seconds:
        out += s.step(t)
        t += step
    return out


def readings(messages, code):
    return [r for m in messages for r in json.loads(m.payload)["readings"] if r["point"] == code]


def quiet(tmp_path, transport=None, **kw):
    """A simulator without excursions, dropouts, duplicates or reordering unless asked for."""
    opts = dict(excursion_every=0, dropout_every=0, duplicate_rate=0, reorder_rate=0, seed=7,
                state_file=tmp_path / "state.json")
    opts.update(kw)
    s = sim.Simulator(transport or Collect(), **opts)
    s.started = T0
    s.load(force=True)
    for gw in s.gateways.values():
        for p in gw.points:
            p.next_due = T0
    return s


def test_normal_signals_stay_inside_the_thresholds_over_a_simulated_day(site, tmp_path):
    s = quiet(tmp_path, speed=720)  # a day of cycle and drift in two minutes
    out = run_steps(s, 120)
    level = [r["value"] for r in readings(out, "LT-1001")]
    gas = [r["value"] for r in readings(out, "GT-2001")]
    pressure = [r["value"] for r in readings(out, "PT-3001")]
    assert len(level) == len(gas) == 24 and len(pressure) == 12  # every sampling period, per point
    assert 2 < min(level) and max(level) < 15
    assert 0 <= min(gas) and max(gas) < 25
    assert 0.2 < min(pressure) and max(pressure) < 2.5
    assert max(level) - min(level) > 1.0  # it moves (daily cycle, drift and noise), it is not a flat line


def test_sequence_numbers_rise_per_gateway_and_survive_restarts(site, tmp_path):
    world, gw, *_ = site
    s = quiet(tmp_path)
    first = run_steps(s, 30)
    seqs = [m.seq for m in first if m.gateway == "GW01"]
    assert seqs == list(range(1, len(seqs) + 1))
    assert {m.topic for m in first} == {f"worksafe/v1/{world.ent_xm.credit_code}/GW01/data",
                                        f"worksafe/v1/{world.ent_fz.credit_code}/GW09/data"}
    again = quiet(tmp_path)  # a restart with the same state file continues, never reuses
    assert min(m.seq for m in run_steps(again, 10) if m.gateway == "GW01") == seqs[-1] + 1
    # The state file is lost, but the platform has seen seq 500: the simulator starts above it.
    os.remove(tmp_path / "state.json")
    Gateway.objects.filter(pk=gw.pk).update(first_seq=1, max_seq=500, received=500)
    fresh = quiet(tmp_path)
    assert min(m.seq for m in run_steps(fresh, 10) if m.gateway == "GW01") == 501


def test_duplicates_are_identical_and_reordering_swaps_neighbours(site, tmp_path):
    s = quiet(tmp_path, duplicate_rate=0.3, reorder_rate=0.3)
    out = run_steps(s, 120)
    by_seq = {}
    for m in out:
        by_seq.setdefault((m.gateway, m.seq), []).append(m.payload)
    dupes = [p for p in by_seq.values() if len(p) > 1]
    assert dupes and all(len(set(p)) == 1 for p in dupes)  # a duplicate is the same message again
    assert s.stats.duplicates == sum(len(p) - 1 for p in by_seq.values())
    order = [m.seq for m in out if m.gateway == "GW01"]
    assert any(b < a for a, b in zip(order, order[1:], strict=False))  # out of order somewhere


def test_dropouts_backfill_or_leave_a_gap(site, tmp_path):
    s = quiet(tmp_path)
    gw = next(g for g in s.gateways.values() if g.code == "GW01")
    gw.silent_until, gw.keep_while_silent = T0 + 60, True
    out = run_steps(s, 90)
    mine = [m for m in out if m.gateway == "GW01"]
    assert [m.seq for m in mine] == sorted(m.seq for m in mine)  # the backlog goes first, in order
    silent = [r for r in readings(mine, "LT-1001") if r["ts"] < (T0 + 60) * 1000]
    assert len(silent) == 12  # kept while silent and sent on return: nothing missing
    gw.silent_until, gw.keep_while_silent = T0 + 150, False
    out = run_steps(s, 90, start=T0 + 90)
    seqs = [m.seq for m in out if m.gateway == "GW01"]
    assert seqs[0] > mine[-1].seq + 1 and s.stats.lost > 0  # lost at the gateway: a gap in seq


def test_excursions_raise_and_clear_alarms_through_ingest(site, tmp_path):
    world, gw, level, gas = site
    s = quiet(tmp_path, transport=sim.InProcessTransport())
    start = time.time() - 300  # five minutes of readings up to now, through the real pipeline
    s.started = start
    for g in s.gateways.values():
        for p in g.points:
            p.next_due = start
    p_level = next(p for p in s.gateways[gw.pk].points if p.code == "LT-1001")
    p_level.thresholds = {**p_level.thresholds, "L": None, "LL": None}  # over H (or HH), not under L
    p_level.start_excursion(start + 10, s.rng)
    t = start
    while t < start + 300:
        s.deliver(s.step(t))
        t += 5
    assert s.outbox == [] and ReadingBatch.objects.filter(gateway_id=gw.pk).exists()
    alarms = list(Alarm.objects.filter(point=level))
    assert len(alarms) in (1, 2) and alarms[-1].condition == "H"  # H, and HH too when it went that far
    assert all(a.status == AlarmStatus.CLEARED_UNACK for a in alarms)  # the excursion ended: cleared
    assert not Alarm.objects.filter(point=gas).exists()


class _Stub(BaseHTTPRequestHandler):
    answers: list = []
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, self.headers["Authorization"], json.loads(body)["seq"]))
        status = self.answers.pop(0) if self.answers else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_http_transport_uses_gateway_tokens_and_keeps_what_was_not_accepted(site, tmp_path):
    world, gw, *_ = site
    server = HTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Stub.seen, _Stub.answers = [], [200, 409, 503]
    try:
        transport = sim.HttpTransport(f"http://127.0.0.1:{server.server_port}/", tokens={})
        s = quiet(tmp_path, transport=transport, issue_tokens=True)
        token = json.loads((tmp_path / "state.json").read_text())["gateways"][
            f"{world.ent_xm.credit_code}/GW01"]["token"]
        gw.refresh_from_db()
        assert Gateway.hash_token(token) == gw.token_hash  # issued for the local gateway, kept in the state file
        assert oct((tmp_path / "state.json").stat().st_mode & 0o777) == "0o600"
        mine = [m for m in run_steps(s, 16, step=5) if m.gateway == "GW01"][:4]
        s.deliver(mine)
        # 200 and 409 are final; the 503 stops the round and the rest stays in the outbox for a retry.
        assert [seq for _p, _a, seq in _Stub.seen] == [m.seq for m in mine[:3]]
        assert all(path == "/api/v1/telemetry" and auth == f"Bearer {token}" for path, auth, _s in _Stub.seen)
        assert [m.seq for m in s.outbox] == [m.seq for m in mine[2:]]
        s.deliver([])
        assert s.outbox == [] and [seq for *_x, seq in _Stub.seen[3:]] == [m.seq for m in mine[2:]]
        again = quiet(tmp_path, transport=transport, issue_tokens=True)  # the kept token is still valid: reused
        assert transport.tokens[gw.pk] == token and again.state.gateway(f"{world.ent_xm.credit_code}/GW01")
    finally:
        server.shutdown()
