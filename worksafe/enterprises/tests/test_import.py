"""Excel import of the enterprise register as a 厦门 officer: template, all-or-nothing, per-row errors
keyed by Excel row number, updates by credit code inside the scope only, the background path."""

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from worksafe.core.models import AuditEntry, ImportJob
from worksafe.core.testing import next_credit_code
from worksafe.enterprises.forms import EnterpriseImporter
from worksafe.enterprises.models import Enterprise

IMPORT = "/enterprises/enterprises/import/"
FIELDS = [field for _h, field, _n in EnterpriseImporter.headers]


def headers() -> list[str]:
    with translation.override("zh-hans"):
        return [str(h) for h, _f, _n in EnterpriseImporter.headers]


def header_of(field: str) -> str:
    return headers()[FIELDS.index(field)]


def row(**values) -> dict:
    """One register row by form field; any field not given is a sensible valid value."""
    base = {"name": "厦门导入测试有限公司", "credit_code": next_credit_code("350203"), "county": "350203",
            "township": "", "industry": 26, "key_class": "hazchem", "scale": "", "employees": 12, "tier": "",
            "status": "", "legal_representative": "陈导入", "legal_representative_phone": "",
            "principal": "", "principal_phone": "", "safety_manager": "", "safety_manager_phone": "",
            "address": "", "lng": None, "lat": None}
    return {**base, **values}


def workbook(rows: list[dict], columns: list[str] | None = None) -> bytes:
    """An .xlsx with the importer's headers (or `columns`, a subset of fields) and these rows."""
    fields = columns or FIELDS
    wb = Workbook()
    ws = wb.active
    ws.append([header_of(f) for f in fields])
    for r in rows:
        ws.append([r.get(f) for f in fields])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, *, all_or_nothing: bool = True, name: str = "企业台账.xlsx"):
    post = {"file": SimpleUploadedFile(name, data)}
    if all_or_nothing:
        post["all_or_nothing"] = "on"
    return client.post(IMPORT, post)


def imports():
    return AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT)


@pytest.fixture
def officer(client, world):
    client.force_login(world.xm_officer)
    return client


def good_and_bad_rows():
    """Rows 2, 4, 6 are good (one county given by name); row 3 has a bad credit code; row 5 is in
    福州 (outside 厦门) and has no legal representative."""
    return [
        row(name="厦门导入一号化工有限公司", credit_code=next_credit_code("350203")),                # 2
        row(name="厦门导入坏代码有限公司", credit_code="914403001922038217"),                       # 3
        row(name="厦门导入二号物流有限公司", credit_code=next_credit_code("350206"), county="湖里区",  # 4
            industry=54, key_class="road_transport"),
        row(name="福州越界有限公司", credit_code=next_credit_code("350102"), county="350102",         # 5
            legal_representative=""),
        row(name="厦门导入三号建设有限公司", credit_code=next_credit_code("350211"), county="350211",  # 6
            township="", industry=47, key_class="construction"),
    ]


GOOD_NAMES = {"厦门导入一号化工有限公司", "厦门导入二号物流有限公司", "厦门导入三号建设有限公司"}


# ---------------------------------------------------------------- template

def test_template_first_row_is_the_importer_headers(officer):
    response = officer.get(IMPORT, {"template": "1"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    first = next(wb.worksheets[0].iter_rows(max_row=1, values_only=True))
    assert list(first) == headers()


def test_template_round_trips_through_the_importer(officer, world):
    """The downloaded template with its header row and one row of ours imports cleanly."""
    response = officer.get(IMPORT, {"template": "1"})
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb.worksheets[0]
    ws.delete_rows(2, ws.max_row)  # drop the example row (its credit code is a placeholder)
    new = row(name="厦门模板往返有限公司")
    ws.append([new[f] for f in FIELDS])
    buffer = io.BytesIO()
    wb.save(buffer)

    upload(officer, buffer.getvalue())

    job = ImportJob.objects.get()
    assert (job.status, job.errors, job.created_count) == (ImportJob.Status.DONE, [], 1)
    assert Enterprise.objects.filter(credit_code=new["credit_code"], county_id="350203").exists()


def test_import_needs_the_import_permission(client, world):
    client.force_login(world.ent_xm_head)
    assert client.get(IMPORT).status_code == 403
    assert upload(client, workbook([row()])).status_code == 403
    assert not ImportJob.objects.exists()


# ---------------------------------------------------------------- all or nothing

def test_all_or_nothing_with_bad_rows_saves_nothing(officer, world):
    before = Enterprise.objects.count()

    response = upload(officer, workbook(good_and_bad_rows()))

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("core:importjob_detail", args=[job.pk])
    assert job.status == ImportJob.Status.FAILED
    assert (job.user, job.total, job.processed, job.filename) == (world.xm_officer, 5, 5, "企业台账.xlsx")
    assert [e["row"] for e in job.errors] == [3, 5]
    errors = {e["row"]: e["errors"] for e in job.errors}
    assert len(errors[3]) == 1 and errors[3][0].startswith(header_of("credit_code"))
    assert len(errors[5]) == 2
    assert sorted(e.split("：")[0] for e in errors[5]) == sorted([header_of("county"), header_of("legal_representative")])
    assert Enterprise.objects.count() == before
    assert not Enterprise.objects.filter(name__in=GOOD_NAMES).exists()
    assert not imports().exists()
    assert (job.created_count, job.updated_count) == (0, 0)


def test_job_page_shows_the_row_errors(officer, world):
    upload(officer, workbook(good_and_bad_rows()))
    job = ImportJob.objects.get()

    response = officer.get(reverse("core:importjob_detail", args=[job.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert 'data-testid="import-errors"' in html
    assert "<td>3</td>" in html and "<td>5</td>" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: the job no longer polls


def test_without_all_or_nothing_the_good_rows_are_saved(officer, world):
    response = upload(officer, workbook(good_and_bad_rows()), all_or_nothing=False)

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.updated_count) == (3, 0)
    assert [e["row"] for e in job.errors] == [3, 5]
    saved = Enterprise.objects.filter(name__in=GOOD_NAMES)
    assert {(e.name, e.county_id) for e in saved} == {("厦门导入一号化工有限公司", "350203"),
                                                      ("厦门导入二号物流有限公司", "350206"),
                                                      ("厦门导入三号建设有限公司", "350211")}
    assert saved.get(county_id="350206").industry_id == "54"
    assert not Enterprise.objects.filter(name__in=["厦门导入坏代码有限公司", "福州越界有限公司"]).exists()
    entries = imports()
    assert entries.count() == 3
    assert {e.object_id for e in entries} == {str(e.pk) for e in saved}
    assert all(e.user == world.xm_officer and e.before is None for e in entries)


# ---------------------------------------------------------------- updates by credit code

def test_existing_code_in_scope_is_updated(officer, world):
    ent = world.ent_xm
    r = row(name=ent.name, credit_code=ent.credit_code.lower(), county=ent.county_id, township=ent.township_id,
            employees=999, legal_representative=ent.legal_representative, address=ent.address, scale="above")

    upload(officer, workbook([r]))

    job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.updated_count, job.errors) == (ImportJob.Status.DONE, 0, 1, [])
    ent.refresh_from_db()
    assert ent.employees == 999
    assert Enterprise.objects.filter(credit_code=ent.credit_code).count() == 1
    entry = imports().get()
    assert entry.object_id == str(ent.pk)
    assert (entry.before["employees"], entry.after["employees"]) == (180, 999)


@pytest.mark.parametrize("all_or_nothing", [True, False], ids=["all_or_nothing", "partial"])
def test_existing_code_outside_scope_is_a_row_error(officer, world, all_or_nothing):
    fz = world.ent_fz
    snapshot = Enterprise.objects.filter(pk=fz.pk).values().get()
    r = row(name="冒名顶替", credit_code=fz.credit_code, county="350203", legal_representative="假法人")

    upload(officer, workbook([r]), all_or_nothing=all_or_nothing)

    job = ImportJob.objects.get()
    assert [e["row"] for e in job.errors] == [2]
    assert len(job.errors[0]["errors"]) == 1
    assert Enterprise.objects.filter(pk=fz.pk).values().get() == snapshot
    assert not imports().exists()
    assert (job.created_count, job.updated_count) == (0, 0)


def test_duplicate_code_inside_the_file_is_an_error_on_the_second_row(officer, world):
    code = next_credit_code("350203")
    rows = [row(name="厦门重复甲有限公司", credit_code=code), row(name="厦门不重复有限公司"),
            row(name="厦门重复乙有限公司", credit_code=code)]

    upload(officer, workbook(rows))

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert [e["row"] for e in job.errors] == [4]
    assert "2" in job.errors[0]["errors"][0]  # points back at the first row with the code
    assert not Enterprise.objects.filter(credit_code=code).exists()


# ---------------------------------------------------------------- unreadable files

def test_non_xlsx_upload_fails_with_row_zero(officer, world):
    upload(officer, "名称,代码\n甲,乙\n".encode(), name="台账.csv")

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert [e["row"] for e in job.errors] == [0]
    assert job.finished_at is not None
    assert not imports().exists()


def test_missing_column_fails(officer, world):
    columns = [f for f in FIELDS if f != "legal_representative"]
    upload(officer, workbook([row(), row()], columns=columns), all_or_nothing=False)

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert [e["row"] for e in job.errors] == [1]
    assert header_of("legal_representative") in job.errors[0]["errors"][0]
    assert not imports().exists()


def test_header_only_file_imports_nothing(officer, world):
    upload(officer, workbook([]))
    job = ImportJob.objects.get()
    assert (job.status, job.total, job.created_count, job.errors) == (ImportJob.Status.DONE, 0, 0, [])


# ---------------------------------------------------------------- job pages

def test_job_of_another_user_is_404(client, world):
    job = ImportJob.objects.create(user=world.xm_officer, model_label="enterprises.enterprise", filename="a.xlsx",
                                   status=ImportJob.Status.DONE)
    url = reverse("core:importjob_detail", args=[job.pk])
    for other in (world.province_officer, world.fz_officer, world.ent_xm_head):
        client.force_login(other)
        assert client.get(url).status_code == 404
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404
    client.force_login(world.xm_officer)
    assert client.get(url).status_code == 200


def test_job_page_needs_login(client, world):
    job = ImportJob.objects.create(user=world.xm_officer, model_label="enterprises.enterprise", filename="a.xlsx")
    response = client.get(reverse("core:importjob_detail", args=[job.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# ---------------------------------------------------------------- background path

@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # leaves the migrated rows for later tests
def test_large_file_runs_in_the_background(client, world, settings):
    settings.IMPORT_BACKGROUND_ROWS = 1
    client.force_login(world.xm_officer)
    rows = [row(name=f"厦门后台导入{i}号有限公司") for i in range(3)]

    response = upload(client, workbook(rows))

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("core:importjob_detail", args=[job.pk])
    deadline = time.monotonic() + 10
    while job.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED) and time.monotonic() < deadline:
        time.sleep(0.1)
        job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.errors
    assert (job.total, job.processed, job.created_count) == (3, 3, 3)
    assert Enterprise.objects.filter(name__startswith="厦门后台导入").count() == 3
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT)
    assert entries.count() == 3
    assert {e.user_id for e in entries} == {world.xm_officer.pk}
    # the thread carries the upload's request id into the audit entries
    login = AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN).order_by("id").last()
    assert all(e.request_id and e.request_id != login.request_id for e in entries)
    assert len({e.request_id for e in entries}) == 1

    partial = client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    html = partial.content.decode()
    assert "<html" not in html
    assert 'id="import-job"' in html
    assert 'data-testid="import-status"' in html
    assert "hx-trigger" not in html  # done: the partial stops polling
    assert [t.name for t in partial.templates][0] == "partials/import_progress.html"


@pytest.mark.django_db
def test_progress_partial_polls_while_running(client, world):
    job = ImportJob.objects.create(user=world.xm_officer, model_label="enterprises.enterprise", filename="a.xlsx",
                                   status=ImportJob.Status.RUNNING, total=400, processed=100)
    client.force_login(world.xm_officer)
    html = client.get(reverse("core:importjob_detail", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="25"' in html
