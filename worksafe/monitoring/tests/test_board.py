"""The live board: the SSE stream carries only what the user may see (sync and async paths), the board
and its JSON for every level, the map states and the trend data (raw readings and rollups)."""

import asyncio
import datetime
import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from worksafe.core import roles as R
from worksafe.core.choices import OrganisationKind
from worksafe.core.testing import make_org, make_user
from worksafe.majorhazards.models import MajorHazard
from worksafe.monitoring import board, live
from worksafe.monitoring.choices import AlarmStatus, QualityKind
from worksafe.monitoring.ingest import Ingestor, Message
from worksafe.monitoring.models import Alarm, QualityEvent, Rollup
from worksafe.monitoring.testing import make_gateway, make_point, payload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()  # board summaries are cached per organisation id, which the next test reuses
    yield
    live.stop_listeners()  # a LISTENing connection would keep the test database from being dropped


def event(ent, **extra):
    return {"type": "alarm", "change": "raised", "id": extra.pop("id", 1), "status": "active_unack", "level": 2,
            "condition": "HH", "enterprise_id": ent.pk, "county": ent.county_id, "point": "LT-1001",
            "point_name": "1#储罐液位", "unit": "m", "value": 19.0, "raised_at": "2026-01-01T08:00:00+00:00", **extra}


def make_alarm(point, condition="HH", status=AlarmStatus.ACTIVE_UNACK, value=19.0, minutes_ago=1):
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return Alarm.objects.create(point=point, enterprise_id=point.enterprise_id, hazard_id=point.hazard_id,
                                condition=condition, level=2 if condition in ("HH", "LL") else 1, status=status,
                                threshold=18, raised_at=at, raised_ms=int(at.timestamp() * 1000),
                                raise_value=value, peak_value=value)


@pytest.fixture
def county_officer(world):
    org = make_org("思明区应急管理局", OrganisationKind.EMERGENCY, "350203")
    return make_user("siming_officer", org, [R.REGULATOR_STAFF])


# --- who receives what --------------------------------------------------------------------------------------

def decide(user, ev):
    viewer = board.Viewer(user)
    viewer.remember(board.enterprise_info(user, viewer.missing([ev])))
    return viewer.allows(ev)


def test_regulators_receive_alarms_of_their_jurisdiction_only(world, county_officer):
    xm, fz = event(world.ent_xm), event(world.ent_fz)
    assert decide(world.xm_officer, xm) and not decide(world.xm_officer, fz)
    assert decide(world.fz_officer, fz) and not decide(world.fz_officer, xm)
    assert decide(county_officer, xm) and not decide(county_officer, fz)
    assert decide(world.province_officer, xm) and decide(world.province_officer, fz)


def test_enterprise_users_receive_their_own_enterprise_only(world):
    assert decide(world.ent_xm_staff, event(world.ent_xm))
    assert not decide(world.ent_xm_staff, event(world.ent_xm_construction))
    assert not decide(world.ent_fz_staff, event(world.ent_xm))
    viewer = board.Viewer(world.ent_xm_staff)
    events = [event(world.ent_fz), event(world.ent_xm)]
    viewer.remember(board.enterprise_info(world.ent_xm_staff, viewer.missing(events)))
    assert viewer.missing(events) == set()  # each enterprise is asked about once per stream


def test_industry_department_receives_its_sectors_only(world):
    # 住建 supervises construction: the Xiamen construction company, not the Xiamen chemical plant
    assert decide(world.xm_housing_staff, event(world.ent_xm_construction))
    assert not decide(world.xm_housing_staff, event(world.ent_xm))


def test_the_enterprise_row_decides_not_the_county_the_event_claims(world):
    assert not decide(world.xm_officer, event(world.ent_fz, county="350203"))
    assert not decide(world.xm_officer, event(world.ent_xm, enterprise_id=999_999))


def test_users_without_the_permission_or_a_place_receive_nothing(world):
    assert not decide(world.no_role, event(world.ent_xm))
    assert not decide(world.system_admin, event(world.ent_xm))


def test_quality_events_need_their_own_permission_and_unknown_types_are_not_sent(world):
    quality = {"type": "quality", "change": "closed", "id": 3, "kind": "interruption", "enterprise_id": world.ent_xm.pk}
    assert decide(world.xm_officer, quality)  # no county in the event: the enterprise row is looked up
    assert not decide(world.fz_officer, quality)
    assert not decide(world.xm_officer, {**event(world.ent_xm), "type": "debug"})


# --- the stream, sync (WSGI) ----------------------------------------------------------------------------------

def frames(text):
    """[(event, data)] of SSE text; comments come out as (":", text)."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        if lines[0].startswith(":"):
            out.append((":", lines[0][1:].strip()))
            continue
        fields = dict(line.split(": ", 1) for line in lines if ": " in line)
        out.append((fields.get("event"), json.loads(fields["data"]) if "data" in fields else None))
    return out


def open_stream(client, user):
    client.force_login(user)
    response = client.get(reverse("monitoring:board_events"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    return response


def test_sync_stream_says_hello_then_sends_only_the_users_alarms(client, world):
    response = open_stream(client, world.xm_officer)
    assert not response.is_async  # a WSGI request gets the sync generator (an async one would be buffered)
    stream = iter(response.streaming_content)
    first = next(stream).decode()
    assert first.startswith("retry: 3000\n") and frames(first)[0][0] == "hello"
    live.dispatch(event(world.ent_fz, id=11))  # Fuzhou: not for a Xiamen officer
    live.dispatch(event(world.ent_xm, id=12))
    got = frames(next(stream).decode())
    assert [(name, data["id"]) for name, data in got] == [("alarm", 12)]
    assert got[0][1]["enterprise"] == world.ent_xm.name  # enriched for the board
    response.close()
    assert live.subscriber_count() == 0  # closing the response ends the subscription


def test_another_county_sees_nothing_only_heartbeats(client, world, monkeypatch):
    monkeypatch.setattr(board, "HEARTBEAT_S", 0.2)
    response = open_stream(client, world.fz_officer)
    stream = iter(response.streaming_content)
    next(stream)
    live.dispatch(event(world.ent_xm, id=21))
    assert next(stream) == b": ping\n\n"
    response.close()


def test_enterprise_stream_carries_its_own_alarms_only(client, world):
    response = open_stream(client, world.ent_xm_staff)
    stream = iter(response.streaming_content)
    next(stream)
    live.dispatch(event(world.ent_fz, id=31))
    live.dispatch(event(world.ent_xm_construction, id=32))
    live.dispatch(event(world.ent_xm, id=33, status="active_ack", change="acknowledged"))
    got = frames(next(stream).decode())
    assert [(name, data["id"], data["status"]) for name, data in got] == [("alarm", 33, "active_ack")]
    response.close()


def test_a_slow_client_gets_a_resync_after_the_newest_events(client, world, monkeypatch):
    monkeypatch.setattr(live, "QUEUE_MAX", 3)
    response = open_stream(client, world.xm_officer)
    stream = iter(response.streaming_content)
    next(stream)
    for n in range(5):
        live.dispatch(event(world.ent_xm, id=100 + n))
    got = frames(next(stream).decode())
    assert [(name, data.get("id", data.get("dropped"))) for name, data in got] == [
        ("alarm", 102), ("alarm", 103), ("alarm", 104), ("resync", 2)]
    response.close()


def test_stream_needs_a_login_and_the_alarm_permission(client, world):
    assert client.get(reverse("monitoring:board_events")).status_code == 302
    client.force_login(world.no_role)
    assert client.get(reverse("monitoring:board_events")).status_code == 403


# --- the stream, async (ASGI) -----------------------------------------------------------------------------------

def test_async_stream_is_an_async_generator_and_filters_by_scope(world):
    async def run():
        client = AsyncClient()
        await client.aforce_login(world.xm_officer)
        response = await client.get(reverse("monitoring:board_events"))
        assert response.status_code == 200 and response.is_async  # ASGI: streamed, not buffered
        stream = aiter(response.streaming_content)
        hello = (await anext(stream)).decode()
        live.dispatch(event(world.ent_fz, id=41))
        live.dispatch(event(world.ent_xm, id=42))
        got = (await asyncio.wait_for(anext(stream), 5)).decode()
        await stream.aclose()
        return hello, got

    hello, got = async_to_sync(run)()
    assert frames(hello)[0][0] == "hello"
    assert [(name, data["id"]) for name, data in frames(got)] == [("alarm", 42)]
    assert live.subscriber_count() == 0


def test_async_stream_heartbeat_when_nothing_is_visible(world, monkeypatch):
    monkeypatch.setattr(board, "HEARTBEAT_S", 0.2)

    async def run():
        client = AsyncClient()
        await client.aforce_login(world.fz_officer)
        response = await client.get(reverse("monitoring:board_events"))
        stream = aiter(response.streaming_content)
        await anext(stream)
        live.dispatch(event(world.ent_xm, id=51))
        started = time.monotonic()
        beat = await anext(stream)
        await stream.aclose()
        return beat, time.monotonic() - started

    beat, waited = async_to_sync(run)()
    assert beat == b": ping\n\n"
    assert waited < 2


# --- board page and JSON ---------------------------------------------------------------------------------------

@pytest.fixture
def site(world):
    xm_gw = make_gateway(world.ent_xm)
    xm_level = make_point(world.ent_xm, "LT-1001", gateway=xm_gw)
    hazard2 = MajorHazard.objects.create(enterprise=world.ent_xm, code="MH-02", name="厦门鹭江化工罐区二",
                                         unit_kind="storage", people_within_500m=10, lng=118.10, lat=24.46)
    xm_temp = make_point(world.ent_xm, "TT-2001", gateway=xm_gw, hazard=hazard2, name="反应釜温度", kind="temperature",
                         unit="℃", range_low=0, range_high=200, low_low=None, low=None, high=80, high_high=120)
    fz_gw = make_gateway(world.ent_fz)
    fz_level = make_point(world.ent_fz, "LT-1001", gateway=fz_gw)
    con_point = make_point(world.ent_xm_construction, "PT-3001", name="塔吊风速", kind="other", unit="m/s")
    MajorHazard.objects.create(enterprise=world.ent_fz, code="MH-09", name="闽江未接入罐区", unit_kind="storage",
                               people_within_500m=0, lng=119.30, lat=26.08)
    for point, lng, lat in ((xm_level, 118.09, 24.45), (fz_level, 119.29, 26.07), (con_point, 118.11, 24.47)):
        MajorHazard.objects.filter(pk=point.hazard_id).update(lng=lng, lat=lat)
    return {"xm_level": xm_level, "xm_temp": xm_temp, "fz_level": fz_level, "con_point": con_point,
            "hazard2": hazard2}


def test_board_renders_for_every_level(client, world, county_officer, site):
    xm_alarm = make_alarm(site["xm_level"])
    fz_alarm = make_alarm(site["fz_level"])
    cases = [(world.ent_xm_staff, "enterprise"), (county_officer, "county"), (world.xm_officer, "city"),
             (world.province_officer, "province")]
    for user, level in cases:
        client.force_login(user)
        response = client.get(reverse("monitoring:board"))
        assert response.status_code == 200, user
        assert response.context["level"] == level
        ids = [a["id"] for a in response.context["alarms"]]
        assert xm_alarm.pk in ids
        assert (fz_alarm.pk in ids) == (level == "province")
        html = response.content.decode()
        assert 'data-testid="board-alarms"' in html and f'data-alarm-id="{xm_alarm.pk}"' in html
        assert (f'data-alarm-id="{fz_alarm.pk}"' in html) == (level == "province")
    client.force_login(world.fz_officer)
    response = client.get(reverse("monitoring:board"))
    assert [a["id"] for a in response.context["alarms"]] == [fz_alarm.pk]
    assert response.context["counts"]["level2"] == 1


def test_board_breakdown_is_one_level_down(client, world, county_officer, site):
    make_alarm(site["xm_level"])
    make_alarm(site["xm_temp"], condition="H", value=90)
    client.force_login(world.province_officer)
    rows = {r["key"]: r for r in client.get(reverse("monitoring:board")).context["breakdown"]}
    assert (rows["3502"]["level2"], rows["3502"]["level1"], rows["3502"]["points"]) == (1, 1, 3)
    assert (rows["3501"]["level2"], rows["3501"]["points"]) == (0, 1)
    client.force_login(world.xm_officer)
    rows = {r["key"]: r for r in client.get(reverse("monitoring:board")).context["breakdown"]}
    assert rows["350203"]["points"] == 3 and "350102" not in rows
    client.force_login(county_officer)
    rows = client.get(reverse("monitoring:board")).context["breakdown"]
    assert [r["name"] for r in rows][0] == world.ent_xm.name  # the enterprise in alarm comes first
    client.force_login(world.ent_xm_staff)
    rows = client.get(reverse("monitoring:board")).context["breakdown"]
    assert {r["name"] for r in rows} == {site["xm_level"].hazard.name, site["hazard2"].name}


def test_board_needs_the_alarm_permission(client, world):
    client.force_login(world.no_role)
    assert client.get(reverse("monitoring:board")).status_code == 403
    assert client.get(reverse("monitoring:board_state")).status_code == 403
    assert client.get(reverse("monitoring:board_map")).status_code == 403


def test_state_json_refreshes_rows_on_the_board_and_stays_in_scope(client, world, site):
    closed = make_alarm(site["xm_level"], status=AlarmStatus.CLOSED, minutes_ago=30)
    open_one = make_alarm(site["xm_temp"], condition="H", value=90)
    fz_alarm = make_alarm(site["fz_level"])
    site["xm_level"].last_value, site["xm_level"].last_ts = 7.5, timezone.now()
    site["xm_level"].save()
    client.force_login(world.xm_officer)
    data = client.get(reverse("monitoring:board_state"), {"ids": f"{closed.pk},{fz_alarm.pk}"}).json()
    by_id = {a["id"]: a for a in data["alarms"]}
    assert set(by_id) == {open_one.pk, closed.pk}  # the Fuzhou id asked for is not given
    assert by_id[closed.pk]["status"] == "closed" and by_id[closed.pk]["status_label"] == str(AlarmStatus.CLOSED.label)
    assert data["counts"] == {"level2": 0, "level1": 1, "unack": 1, "interruptions": 0, "points": 3}
    values = {p["code"]: p for p in data["points"] if p["enterprise"] == world.ent_xm.name}
    assert values["LT-1001"]["value"] == 7.5 and values["LT-1001"]["state"] == "normal"
    assert values["TT-2001"]["state"] == "nodata"
    assert all(p["enterprise"] != world.ent_fz.name for p in data["points"])


def test_summary_is_shared_for_a_moment_and_recomputed_after_a_live_event(client, world, site):
    client.force_login(world.xm_officer)
    assert client.get(reverse("monitoring:board_state")).json()["counts"]["level2"] == 0
    make_alarm(site["xm_level"])  # written without an event (as no real writer does)
    assert client.get(reverse("monitoring:board_state")).json()["counts"]["level2"] == 0
    live.dispatch(event(world.ent_xm))  # what every alarm write announces
    data = client.get(reverse("monitoring:board_state")).json()
    assert data["counts"]["level2"] == 1
    assert {r["key"]: r["level2"] for r in data["breakdown"]}["350203"] == 1


def test_map_colours_major_hazard_sources_by_state(client, world, site):
    make_alarm(site["xm_level"])  # level 2 → red
    make_alarm(site["xm_temp"], condition="H", value=90)  # level 1 → orange
    QualityEvent.objects.create(enterprise=world.ent_fz, gateway=site["fz_level"].gateway, kind=QualityKind.INTERRUPTION,
                                started_at=timezone.now())  # gateway-wide interruption → grey
    make_alarm(site["con_point"], condition="H", status=AlarmStatus.CLOSED)  # closed: normal (green)
    client.force_login(world.province_officer)
    data = client.get(reverse("monitoring:board_map")).json()
    states = {h["name"].split(" · ")[1]: h["state"] for h in data["hazards"]}
    assert states[site["xm_level"].hazard.name] == "alarm2"
    assert states[site["hazard2"].name] == "alarm1"
    assert states[site["fz_level"].hazard.name] == "interrupted"
    assert states[site["con_point"].hazard.name] == "normal"
    assert states["闽江未接入罐区"] == "unmonitored"
    assert data["totals"] == {"alarm2": 1, "alarm1": 1, "interrupted": 1, "normal": 1, "unmonitored": 1}
    client.force_login(world.xm_officer)
    names = {h["name"] for h in client.get(reverse("monitoring:board_map")).json()["hazards"]}
    assert all(world.ent_fz.name not in n for n in names)


def test_level_2_wins_over_an_interruption_on_the_map(client, world, site):
    make_alarm(site["xm_level"])
    QualityEvent.objects.create(enterprise=world.ent_xm, point=site["xm_level"], gateway=site["xm_level"].gateway,
                                kind=QualityKind.INTERRUPTION, started_at=timezone.now())
    client.force_login(world.ent_xm_staff)
    states = {h["id"]: h["state"] for h in client.get(reverse("monitoring:board_map")).json()["hazards"]}
    assert states == {site["xm_level"].hazard_id: "alarm2", site["hazard2"].pk: "normal"}


# --- trends -------------------------------------------------------------------------------------------------------

def ingest(world, seq, readings, ent=None, gateway="GW01"):
    ent = ent or world.ent_xm
    out = Ingestor().process([Message(payload(gateway, seq, readings), source="test", credit_code=ent.credit_code,
                                      gateway_code=gateway)])
    assert out[0].status == "stored", out


def test_trend_of_the_last_hours_is_the_raw_readings_of_the_point(client, world, site):
    now = int(time.time() * 1000)
    minute = 60_000
    # one message starts before the 1-hour window and ends inside it (t0 is its first reading)
    ingest(world, 1, [("LT-1001", now - 70 * minute, 4.0), ("LT-1001", now - 55 * minute, 5.2),
                      ("TT-2001", now - 55 * minute, 60.0)])
    ingest(world, 2, [("LT-1001", now - 2 * minute, 6.5), ("LT-1001", now - 3 * minute, 6.25),
                      ("LT-1001", now - minute, 7.0, 2)])  # out of order; the last one marked bad
    ingest(world, 1, [("LT-1001", now - 2 * minute, 99.0)], ent=world.ent_fz)  # same code, other enterprise
    client.force_login(world.xm_officer)
    url = reverse("monitoring:point_trend", args=[site["xm_level"].pk])
    data = client.get(url, {"hours": 1}).json()
    assert data["kind"] == "raw"
    assert data["values"] == [5.2, 6.25, 6.5]
    assert data["ts"] == [now - 55 * minute, now - 3 * minute, now - 2 * minute]
    assert data["thresholds"] == {"LL": 1.0, "L": 2.0, "H": 15.0, "HH": 18.0}
    assert data["unit"] == "m" and data["point"]["code"] == "LT-1001"
    assert client.get(url).json()["values"] == [4.0, 5.2, 6.25, 6.5]  # default: 6 hours


def test_longer_trends_come_from_rollups(client, world, site):
    point = site["xm_level"]
    now = timezone.now().replace(second=0, microsecond=0)
    for width, ago, n, lo, hi, total in ((60, datetime.timedelta(hours=10), 6, 4.0, 5.0, 27.0),
                                          (60, datetime.timedelta(days=2), 6, 3.0, 4.0, 21.0),
                                          (3600, datetime.timedelta(days=20), 360, 2.0, 9.0, 1800.0),
                                          (3600, datetime.timedelta(hours=10), 360, 1.0, 2.0, 540.0)):
        Rollup.objects.create(point=point, width=width, bucket=now - ago, n=n, vmin=lo, vmax=hi, vsum=total)
    client.force_login(world.ent_xm_staff)
    url = reverse("monitoring:point_trend", args=[point.pk])
    day = client.get(url, {"hours": 24}).json()
    assert (day["kind"], day["width"]) == ("rollup", 60)
    assert (day["min"], day["avg"], day["max"]) == ([4.0], [4.5], [5.0])
    week = client.get(url, {"hours": 168}).json()
    assert week["width"] == 60 and week["avg"] == [3.5, 4.5]
    month = client.get(url, {"hours": 720}).json()
    assert (month["width"], month["min"], month["avg"], month["max"]) == (3600, [2.0, 1.0], [5.0, 1.5], [9.0, 2.0])
    assert month["ts"] == sorted(month["ts"])


def test_trend_is_scoped_and_checks_its_input(client, world, site):
    client.force_login(world.fz_officer)
    assert client.get(reverse("monitoring:point_trend", args=[site["xm_level"].pk])).status_code == 404
    assert client.get(reverse("monitoring:point_chart", args=[site["xm_level"].pk])).status_code == 404
    client.force_login(world.xm_officer)
    url = reverse("monitoring:point_trend", args=[site["xm_level"].pk])
    for bad in ("0", "-1", "soon", "1e9"):
        response = client.get(url, {"hours": bad})
        assert response.status_code == 400 and response.json()["code"] == "invalid_hours"


def test_point_page_shows_the_trend_chart_and_alarms(client, world, site):
    alarm = make_alarm(site["xm_level"])
    client.force_login(world.xm_officer)
    response = client.get(reverse("monitoring:point_chart", args=[site["xm_level"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("monitoring:point_trend", args=[site["xm_level"].pk]) in html
    assert 'data-testid="trend-chart"' in html
    assert list(response.context["alarms"]) == [alarm]
