"""The audit log (等保 8.1.4.3): hash chain, append-only triggers, auth events, and audit entries
written in the same transaction as the change they describe."""

import io
import json

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse
from openpyxl import Workbook

from worksafe.core import audit
from worksafe.core.models import AuditEntry, ImportJob
from worksafe.core.testing import next_credit_code
from worksafe.enterprises.models import Enterprise

pytestmark = pytest.mark.django_db


def three_entries(world):
    return [
        audit.record(AuditEntry.Action.CREATE, world.ent_xm, after=audit.snapshot(world.ent_xm),
                     user=world.xm_officer),
        audit.record(AuditEntry.Action.UPDATE, world.ent_xm, before={"employees": 180}, after={"employees": 181},
                     user=world.xm_officer, detail="人数更正"),
        audit.record(AuditEntry.Action.EXPORT, object_type="enterprises.enterprise", detail="3 rows",
                     user=world.fz_officer),
    ]


def disable_append_only():
    """Drop the append-only triggers inside the test transaction (rolled back at the end of the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER core_auditentry_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")
        elif connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_append_only")
        else:
            pytest.skip(f"no append-only trigger on {connection.vendor}")


# ---------------------------------------------------------------- chain

def test_record_chains_entries(world):
    entries = three_entries(world)

    stored = list(AuditEntry.objects.order_by("id"))
    assert [e.pk for e in stored] == [e.pk for e in entries]
    assert stored[0].prev_hash == ""
    assert stored[1].prev_hash == stored[0].hash
    assert stored[2].prev_hash == stored[1].hash
    assert len({e.hash for e in stored}) == 3
    assert all(e.alg == audit.ALGORITHM and len(e.hash) == 64 for e in stored)
    assert stored[1].before == {"employees": 180} and stored[1].after == {"employees": 181}
    assert (stored[2].user, stored[2].username) == (world.fz_officer, "fz_officer")
    assert audit.verify_chain() == []


def test_chain_survives_json_and_decimal_values(world):
    world.ent_xm.lng, world.ent_xm.lat = "118.089425", "24.479833"
    world.ent_xm.save()
    world.ent_xm.refresh_from_db()
    audit.record(AuditEntry.Action.UPDATE, world.ent_xm, before=audit.snapshot(world.ent_xm),
                 after={**audit.snapshot(world.ent_xm), "note": ["甲", 1, None, {"b": 2, "a": 1}]})
    assert audit.verify_chain() == []


def test_chain_is_keyed(world, settings):
    three_entries(world)
    settings.AUDIT_HMAC_KEY = "another key"
    assert audit.verify_chain() == list(AuditEntry.objects.order_by("id").values_list("id", flat=True))


# ---------------------------------------------------------------- append-only

@pytest.mark.parametrize("sql", [
    "UPDATE core_auditentry SET detail = 'tampered' WHERE id = %s",
    "DELETE FROM core_auditentry WHERE id = %s",
], ids=["update", "delete"])
def test_database_refuses_update_and_delete(world, sql):
    if connection.vendor not in ("sqlite", "postgresql"):
        pytest.skip(f"no append-only trigger on {connection.vendor}")
    if connection.vendor == "sqlite" and sql.startswith("DELETE"):
        pytest.skip("SQLite refuses UPDATE only (migration 0003: its flush deletes rows); the chain shows deletions")
    entry = three_entries(world)[1]

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])

    assert AuditEntry.objects.filter(pk=entry.pk, detail="人数更正").exists()
    assert AuditEntry.objects.count() == 3
    assert audit.verify_chain() == []


def test_orm_cannot_edit_an_entry(world):
    if connection.vendor not in ("sqlite", "postgresql"):
        pytest.skip(f"no append-only trigger on {connection.vendor}")
    entry = three_entries(world)[0]
    entry.detail = "changed"
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.update(detail="changed")
    assert not AuditEntry.objects.filter(detail="changed").exists()
    assert audit.verify_chain() == []


def test_orm_cannot_delete_an_entry_on_postgresql(world):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite refuses UPDATE only (migration 0003)")
    three_entries(world)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.count() == 3


def test_verifier_finds_an_edited_row(world):
    entries = three_entries(world)
    disable_append_only()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET detail = %s WHERE id = %s", ["人数未更正", entries[1].pk])

    assert audit.verify_chain() == [entries[1].pk]
    with pytest.raises(CommandError):
        call_command("verify_audit", stdout=io.StringIO())


def test_verifier_finds_an_edited_before_value(world):
    entries = three_entries(world)
    disable_append_only()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET before = %s WHERE id = %s",
                       [json.dumps({"employees": 18}), entries[1].pk])
    assert audit.verify_chain() == [entries[1].pk]


def test_verifier_finds_a_deleted_row(world):
    entries = three_entries(world)
    disable_append_only()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entries[1].pk])

    # the row after the gap no longer links to its predecessor
    assert audit.verify_chain() == [entries[2].pk]


def test_verify_command_reports_an_intact_chain(world):
    three_entries(world)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "3" in out.getvalue()


# ---------------------------------------------------------------- auth events

def test_login_is_audited(client, world):
    client.force_login(world.xm_officer)

    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN)
    assert (entry.user, entry.username, entry.object_id) == (world.xm_officer, "xm_officer", str(world.xm_officer.pk))
    assert audit.verify_chain() == []


def test_login_signal_without_request_is_audited(world):
    user_logged_in.send(sender=type(world.fz_officer), request=None, user=world.fz_officer)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN, user=world.fz_officer).count() == 1


def test_logout_is_audited(client, world):
    client.force_login(world.xm_officer)
    client.logout()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGOUT, user=world.xm_officer).count() == 1


def _all_text() -> str:
    return json.dumps(list(AuditEntry.objects.values()), ensure_ascii=False, default=str)


def test_failed_login_is_audited_without_the_password(world):
    user_login_failed.send(sender=__name__, credentials={"username": "x", "password": "secret-pw"}, request=None)

    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN_FAILED)
    assert entry.detail == "x"
    assert entry.user is None
    assert "secret-pw" not in _all_text()


def test_failed_authenticate_is_audited_without_the_password(world):
    assert authenticate(request=None, username="xm_officer", password="secret-pw-2") is None
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN_FAILED)
    assert entry.detail == "xm_officer"
    assert "secret-pw-2" not in _all_text()


# ---------------------------------------------------------------- request context

def test_page_write_carries_request_id_and_ip(client, world):
    client.force_login(world.xm_officer)
    ent = world.ent_xm
    data = {f: getattr(ent, ent._meta.get_field(f).attname) for f in
            ["name", "credit_code", "county", "township", "industry", "key_class", "scale", "employees", "tier",
             "status", "legal_representative", "address"]}
    response = client.post(reverse("enterprises:enterprise_edit", args=[ent.pk]),
                           {**data, "employees": 181}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302

    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE)
    assert entry.request_id == response["X-Request-ID"]
    assert entry.ip == "10.1.2.3"
    assert entry.user == world.xm_officer


# ---------------------------------------------------------------- same transaction as the change

class AuditDown(Exception):
    pass


@pytest.fixture
def broken_audit(monkeypatch):
    """From now on audit.record raises; returns the list of attempted calls (their actions)."""
    calls = []

    def broken(action, *args, **kwargs):
        calls.append(action)
        raise AuditDown("audit store unavailable")

    def install():
        monkeypatch.setattr(audit, "record", broken)
        return calls

    return install


def _edit_data(ent, **changes):
    fields = ["name", "credit_code", "county", "township", "address", "lng", "lat", "industry", "key_class",
              "scale", "employees", "tier", "status", "legal_representative", "legal_representative_phone",
              "principal", "principal_phone", "safety_manager", "safety_manager_phone"]
    data = {f: getattr(ent, ent._meta.get_field(f).attname) for f in fields}
    return {k: ("" if v is None else v) for k, v in {**data, **changes}.items()}


def test_failed_audit_rolls_back_a_page_edit(client, world, broken_audit):
    client.force_login(world.xm_officer)  # the login itself is audited: patch afterwards
    client.raise_request_exception = False
    ent = world.ent_xm
    before = Enterprise.objects.filter(pk=ent.pk).values().get()
    entries = AuditEntry.objects.count()
    calls = broken_audit()

    response = client.post(reverse("enterprises:enterprise_edit", args=[ent.pk]),
                           _edit_data(ent, name="厦门鹭江化工(改)有限公司", employees=999))

    assert response.status_code == 500
    assert calls == [AuditEntry.Action.UPDATE]  # the row was saved, then its audit entry failed
    assert Enterprise.objects.filter(pk=ent.pk).values().get() == before
    assert AuditEntry.objects.count() == entries


def test_failed_audit_rolls_back_a_page_create(client, world, broken_audit):
    client.force_login(world.xm_officer)
    client.raise_request_exception = False
    code = next_credit_code("350203")
    calls = broken_audit()

    response = client.post(reverse("enterprises:enterprise_add"),
                           _edit_data(world.ent_xm, name="新企业", credit_code=code, township=""))

    assert response.status_code == 500
    assert calls == [AuditEntry.Action.CREATE]
    assert not Enterprise.objects.filter(credit_code=code).exists()


def test_failed_audit_rolls_back_a_page_delete(client, world, broken_audit):
    client.force_login(world.xm_officer)
    client.raise_request_exception = False
    ent = world.ent_xm_construction
    calls = broken_audit()

    response = client.post(reverse("enterprises:enterprise_delete", args=[ent.pk]))

    assert response.status_code == 500
    assert calls == [AuditEntry.Action.DELETE]
    assert Enterprise.objects.filter(pk=ent.pk).exists()


def test_failed_audit_rolls_back_an_api_put(client, world, broken_audit):
    client.force_login(world.xm_officer)
    client.raise_request_exception = False
    ent = world.ent_xm
    before = Enterprise.objects.filter(pk=ent.pk).values().get()
    payload = {**_edit_data(ent, employees=5), "township": ent.township_id, "lng": None, "lat": None}
    calls = broken_audit()

    response = client.put(f"/api/v1/enterprises/enterprises/{ent.pk}", json.dumps(payload),
                          content_type="application/json")

    assert response.status_code == 500
    assert calls == [AuditEntry.Action.UPDATE]
    assert Enterprise.objects.filter(pk=ent.pk).values().get() == before


def test_failed_audit_rolls_back_the_whole_import(client, world, monkeypatch):
    from worksafe.enterprises.forms import EnterpriseImporter

    client.force_login(world.xm_officer)
    client.raise_request_exception = False
    fields = [f for _h, f, _n in EnterpriseImporter.headers]
    wb = Workbook()
    ws = wb.active
    ws.append([str(h) for h, _f, _n in EnterpriseImporter.headers])
    codes = [next_credit_code("350203") for _ in range(2)]
    for i, code in enumerate(codes):
        values = {"name": f"厦门审计回滚{i}有限公司", "credit_code": code, "county": "350203", "industry": 26,
                  "key_class": "hazchem", "employees": 3, "legal_representative": "陈"}
        ws.append([values.get(f) for f in fields])
    buffer = io.BytesIO()
    wb.save(buffer)
    calls = []

    def record_once_then_fail(*args, **kwargs):
        calls.append(args)
        if len(calls) > 1:
            raise AuditDown("audit store unavailable")
        return real_record(*args, **kwargs)

    real_record = audit.record
    monkeypatch.setattr(audit, "record", record_once_then_fail)

    client.post("/enterprises/enterprises/import/",
                {"file": SimpleUploadedFile("a.xlsx", buffer.getvalue()), "all_or_nothing": "on"})

    assert len(calls) == 2  # the first row was saved and audited before the second audit failed
    assert not Enterprise.objects.filter(credit_code__in=codes).exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).exists()
    assert ImportJob.objects.count() == 1
