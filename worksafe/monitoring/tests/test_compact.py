"""Compaction: a quiet gateway's one-message rows are merged, and nothing a user or the checks see changes."""

import datetime

import pytest

from worksafe.monitoring import compact, rollup, store
from worksafe.monitoring.ingest import Ingestor, Message
from worksafe.monitoring.models import ReadingBatch, Rollup
from worksafe.monitoring.testing import make_gateway, make_point, payload
from worksafe.monitoring.views import readings_around

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


@pytest.fixture
def site(world):
    gw = make_gateway(world.ent_xm)
    level = make_point(world.ent_xm, "LT-1001", gateway=gw)
    return world, gw, level


def msg(world, seq, readings):
    return Message(payload("GW01", seq, readings), source="test", credit_code=world.ent_xm.credit_code,
                   gateway_code="GW01")


def slow_gateway(world, n=30, every_ms=5_000):
    """A gateway sending one reading every `every_ms`: one message per micro-batch, a row each."""
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    t0 = int(now.timestamp() * 1000) - 3_600_000
    ing = Ingestor()
    for seq in range(1, n + 1):
        assert ing.process([msg(world, seq, [("LT-1001", t0 + seq * every_ms, 5.0 + seq / 10)])])[0].status == "stored"
    ing.process([msg(world, n + 1, [])])  # a heartbeat
    return ing, t0, now + datetime.timedelta(hours=1)


def rollup_totals():
    return sorted(Rollup.objects.values_list("point_id", "width", "bucket", "n", "vsum"))


def test_a_quiet_gateways_rows_are_merged_and_every_message_is_kept(site):
    world, gw, level = site
    ing, t0, later = slow_gateway(world)
    assert ReadingBatch.objects.count() == 31
    before = [(g, s, d, r.tolist()) for g, s, d, r in store.stored_messages()]
    rollup.run(later)
    totals = rollup_totals()

    got = compact.run(later)
    assert got == {"rows": 31, "merged": 30, "written": 1}  # the heartbeat came an hour later: its row stays
    assert ReadingBatch.objects.count() == 2
    assert [(g, s, d, r.tolist()) for g, s, d, r in store.stored_messages()] == before
    # the rollups have counted these readings once, and a later run does not count them again
    rollup.run(later + datetime.timedelta(minutes=5))
    assert rollup_totals() == totals
    # the alarm page's chart still finds the readings
    centre = datetime.datetime.fromtimestamp((t0 + 15 * 5_000) / 1000, UTC)
    assert len(readings_around(level, centre)) == 30
    # a compacted message sent again is still recognised
    assert ing.process([msg(world, 7, [("LT-1001", t0 + 7 * 5_000, 5.7)])])[0].status == "duplicate"
    assert ing.process([msg(world, 8, [("LT-1001", t0 + 8 * 5_000, 9.9)])])[0].status == "conflict"
    # nothing left to do
    assert compact.run(later)["merged"] == 0


def test_rows_are_merged_only_within_the_span_and_after_the_rollups(site):
    world, gw, level = site
    _ing, t0, later = slow_gateway(world, n=12, every_ms=60_000)  # 12 minutes: 5-minute rows
    assert compact.run(later) == {"rows": 0, "merged": 0, "written": 0}  # not rolled up yet
    rollup.run(later)
    got = compact.run(later)
    assert got["merged"] == 12 and got["written"] == 2  # minutes 1–6 and 7–12
    for row in ReadingBatch.objects.filter(n__gt=0):
        messages = store.messages(row.seq, int(row.t0.timestamp() * 1000), row.msgs, row.data)
        starts = [int(r["ts"].min()) for _s, _d, r in messages]
        assert max(starts) - min(starts) <= store.SPAN_MS and min(starts) == int(row.t0.timestamp() * 1000)


def test_a_big_row_is_left_alone(site):
    world, gw, level = site
    points = [make_point(world.ent_xm, f"PT-{k:03d}", gateway=gw) for k in range(70)]
    now = datetime.datetime.now(UTC)
    t = int(now.timestamp() * 1000) - 3_600_000
    ing = Ingestor()
    for seq in (1, 2):
        ing.process([msg(world, seq, [(p.code, t + seq, 1.0) for p in points])])  # 70 readings: 924 bytes
    later = now + datetime.timedelta(hours=1)
    rollup.run(later)
    assert compact.run(later)["merged"] == 0 and ReadingBatch.objects.count() == 2
