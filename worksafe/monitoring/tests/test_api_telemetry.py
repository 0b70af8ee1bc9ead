"""POST /api/v1/telemetry with a gateway token: answers only after commit, in the documented codes."""

import time
from unittest import mock

import pytest
from django.db import OperationalError

from worksafe.monitoring import ingest, store
from worksafe.monitoring.models import Alarm, DeadLetter
from worksafe.monitoring.testing import make_gateway, make_point, payload

pytestmark = pytest.mark.django_db
URL = "/api/v1/telemetry"


@pytest.fixture
def gw(world):
    ingest.reset_shared()
    gateway = make_gateway(world.ent_xm)
    make_point(world.ent_xm, "LT-1001", gateway=gateway)
    gateway.token = gateway.issue_token()
    yield gateway
    ingest.reset_shared()


def post(client, body, token):
    return client.post(URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def t():
    return int(time.time() * 1000) - 1000


def test_stores_then_answers_duplicate(client, gw):
    body = payload("GW01", 1, [("LT-1001", t(), 16.0)])
    r = post(client, body, gw.token)
    assert r.status_code == 200 and r.json()["status"] == "stored" and r.json()["stored"] == 1
    assert Alarm.objects.filter(point__code="LT-1001").count() == 1
    r = post(client, body, gw.token)
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert len(store.stored_messages()) == 1 and Alarm.objects.count() == 1


def test_altered_resend_is_409(client, gw):
    now = t()
    post(client, payload("GW01", 3, [("LT-1001", now, 5.0)]), gw.token)
    r = post(client, payload("GW01", 3, [("LT-1001", now, 6.0)]), gw.token)
    assert r.status_code == 409 and r.json()["code"] == "altered_resend"
    assert "序号" in r.json()["message"]


def test_partial_lists_each_bad_reading_in_chinese(client, gw):
    r = post(client, payload("GW01", 1, [("LT-1001", t(), 5.0), ("XX-9", t(), 1.0)]), gw.token)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "partial" and body["stored"] == 1
    assert body["errors"][0]["code"] == "unknown_point" and body["errors"][0]["index"] == 1
    assert "位号" in body["errors"][0]["message"]


def test_nothing_usable_is_422_and_recorded(client, gw):
    r = post(client, b"not json", gw.token)
    assert r.status_code == 422 and r.json()["code"] == "invalid_json"
    assert DeadLetter.objects.filter(reason="invalid_json", gateway=gw).exists()


def test_payload_of_another_gateway_is_refused(client, gw, world):
    make_gateway(world.ent_xm, "GW02")
    r = post(client, payload("GW02", 1, [("LT-1001", t(), 5.0)]), gw.token)
    assert r.status_code == 422 and r.json()["code"] == "gateway_mismatch"
    assert len(store.stored_messages()) == 0


@pytest.mark.parametrize("token", ["", "wsg_wrong", "ws_user_token_shape"])
def test_bad_token_is_401(client, gw, token):
    r = post(client, payload("GW01", 1, [("LT-1001", t(), 5.0)]), token)
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"


def test_inactive_gateway_cannot_post(client, gw):
    type(gw).objects.filter(pk=gw.pk).update(active=False)
    assert post(client, payload("GW01", 1, [("LT-1001", t(), 5.0)]), gw.token).status_code == 401


def test_database_down_is_503_with_retry_after(client, gw):
    with mock.patch.object(ingest.Ingestor, "process", side_effect=OperationalError("server closed the connection")):
        r = post(client, payload("GW01", 1, [("LT-1001", t(), 5.0)]), gw.token)
    assert r.status_code == 503 and r["Retry-After"] == "5" and r.json()["code"] == "database_unavailable"
