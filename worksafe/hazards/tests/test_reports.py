"""Quarterly and annual hazard statistics reports: the figures equal counts from the records; draft, sign and
submit (late after the due date); a submitted report never changes; who has not submitted."""

import datetime
import io
import random
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from worksafe.core.models import AuditEntry
from worksafe.core.testing import make_enterprise
from worksafe.core.workflow import InvalidTransition
from worksafe.hazards import reports
from worksafe.hazards.models import Hazard, HazardReport, Listing

D = datetime.date


def _hazard(world, ent=None, *, found, closed=None, deadline=None, level="general", funds=None, status=None):
    return Hazard.objects.create(
        enterprise=ent or world.ent_xm, title="配电箱未接地", level=level, found_on=found, closed_on=closed,
        deadline=deadline, funds=funds, reported_by=world.ent_xm_staff,
        status=status or ("closed" if closed else ("rectifying" if deadline else "reported")))


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _oracle(ent, kind, year, quarter) -> dict:
    """The figures counted one hazard at a time in Python, straight from the definitions."""
    start, end = reports.period_bounds(kind, year, quarter)
    levels = {lvl: dict.fromkeys(reports.METRICS, 0) for lvl in ("general", "major")}
    planned = spent = Decimal(0)
    for h in Hazard.objects.filter(enterprise=ent):
        found = start <= h.found_on <= end
        closed_in = h.closed_on is not None and start <= h.closed_on <= end
        open_at_end = h.found_on <= end and (h.closed_on is None or h.closed_on > end)
        counts = levels[h.level]
        counts["found"] += found
        counts["rectified"] += closed_in
        counts["found_rectified"] += found and h.closed_on is not None and h.closed_on <= end
        counts["open"] += open_at_end
        counts["overdue"] += open_at_end and h.deadline is not None and h.deadline < end
        planned += (h.funds or 0) if found else 0
        spent += (h.funds or 0) if closed_in else 0
    levels["total"] = {m: levels["general"][m] + levels["major"][m] for m in reports.METRICS}
    listings = dict.fromkeys(reports.LISTING_METRICS, 0)
    for lst in Listing.objects.filter(hazard__enterprise=ent):
        supervised = lst.listed_on <= end and (lst.lifted_on is None or lst.lifted_on > end)
        listings["listed"] += start <= lst.listed_on <= end
        listings["under_supervision"] += supervised
        listings["overdue"] += supervised and lst.deadline < end
        listings["lifted"] += lst.lifted_on is not None and start <= lst.lifted_on <= end
    return {"levels": levels, "funds": {"planned": f"{planned:.2f}", "spent": f"{spent:.2f}"}, "listings": listings}


def _strip(figures) -> dict:
    levels = {lvl: {m: v for m, v in counts.items() if m != "rectification_rate"}
              for lvl, counts in figures["levels"].items()}
    return {"levels": levels, "funds": figures["funds"], "listings": figures["listings"]}


# --- figures -------------------------------------------------------------------------------------


def test_quarter_figures_follow_the_definitions_at_the_boundaries(world):
    # given hazards on both sides of 2026 Q1 (1 Jan – 31 Mar)
    _hazard(world, found=D(2025, 12, 20), closed=D(2026, 1, 10), funds=1000)  # rectified in Q1, found before
    _hazard(world, found=D(2026, 1, 1), closed=D(2026, 3, 31), funds=200)  # found and closed in Q1 (both ends)
    _hazard(world, found=D(2026, 2, 1), closed=D(2026, 4, 1), deadline=D(2026, 3, 15))  # open and overdue at end
    _hazard(world, found=D(2026, 3, 31), deadline=D(2026, 4, 10))  # found on the last day, on track
    _hazard(world, found=D(2026, 4, 1))  # next quarter: not counted
    _hazard(world, found=D(2026, 1, 1), deadline=D(2026, 3, 31), level="major", funds=50000)  # due on the last day
    _hazard(world, found=D(2025, 11, 1), deadline=D(2026, 3, 30), level="major")  # overdue since before Q1
    _hazard(world, world.ent_fz, found=D(2026, 2, 2))  # another enterprise
    # when the figures are computed
    figures = reports.compute_figures(world.ent_xm, "quarter", 2026, 1)
    # then
    assert figures["period"] == {"start": "2026-01-01", "end": "2026-03-31"}
    assert figures["levels"]["general"] == {"found": 3, "rectified": 2, "found_rectified": 1, "open": 2, "overdue": 1,
                                            "rectification_rate": 33.3}
    assert figures["levels"]["major"] == {"found": 1, "rectified": 0, "found_rectified": 0, "open": 2, "overdue": 1,
                                          "rectification_rate": 0.0}
    assert figures["levels"]["total"]["found"] == 4 and figures["levels"]["total"]["overdue"] == 2
    assert figures["funds"] == {"planned": "50200.00", "spent": "1200.00"}
    assert _strip(figures) == _oracle(world.ent_xm, "quarter", 2026, 1)


def test_figures_equal_independent_counts_for_every_quarter_and_the_year(world):
    # given 300 hazards at random over two years, some closed, some with deadlines, some listed
    rng = random.Random(16)
    for _ in range(300):
        found = D(2025, 1, 1) + datetime.timedelta(days=rng.randint(0, 729))
        closed = found + datetime.timedelta(days=rng.randint(0, 120)) if rng.random() < 0.7 else None
        deadline = found + datetime.timedelta(days=rng.randint(0, 60)) if rng.random() < 0.8 else None
        level = "major" if rng.random() < 0.1 else "general"
        hazard = _hazard(world, found=found, closed=closed, deadline=deadline, level=level,
                         funds=Decimal(rng.randint(0, 90000)) / 100 if rng.random() < 0.7 else None)
        if level == "major" and rng.random() < 0.6:
            listed = found + datetime.timedelta(days=rng.randint(1, 20))
            Listing.objects.create(hazard=hazard, listed_by=world.xm_org, notice_number=str(hazard.pk),
                                   supervising_office="x", deadline=listed + datetime.timedelta(days=rng.randint(5, 90)),
                                   listed_on=listed, lifted_on=closed if closed and closed > listed else None,
                                   status="lifted" if closed and closed > listed else "listed")
    # then every period's figures equal the counts made one row at a time
    for year in (2025, 2026):
        for quarter in (1, 2, 3, 4):
            assert _strip(reports.compute_figures(world.ent_xm, "quarter", year, quarter)) == \
                _oracle(world.ent_xm, "quarter", year, quarter), (year, quarter)
        annual = reports.compute_figures(world.ent_xm, "annual", year, None)
        assert _strip(annual) == _oracle(world.ent_xm, "annual", year, None)
        found_in_quarters = sum(reports.compute_figures(world.ent_xm, "quarter", year, q)["levels"]["total"]["found"]
                                for q in (1, 2, 3, 4))
        assert annual["levels"]["total"]["found"] == found_in_quarters


def test_figures_take_two_queries(world, django_assert_num_queries):
    _hazard(world, found=D(2026, 2, 1))
    with django_assert_num_queries(2):
        reports.compute_figures(world.ent_xm, "quarter", 2026, 1)


@pytest.mark.parametrize("_case, kind, year, quarter, due", [
    ("_q1 → 15 April", "quarter", 2026, 1, D(2026, 4, 15)),
    ("_q4 → 15 January next year", "quarter", 2026, 4, D(2027, 1, 15)),
    ("_annual → 31 January next year", "annual", 2026, None, D(2027, 1, 31)),
])
def test_due_dates_come_from_the_rules(_case, kind, year, quarter, due):
    assert reports.due_date(kind, year, quarter) == due


@pytest.mark.parametrize("kind, quarter", [("quarter", None), ("quarter", 5), ("annual", 1), ("monthly", None)])
def test_a_period_that_does_not_exist_is_refused(kind, quarter):
    with pytest.raises(ValidationError):
        reports.period_bounds(kind, 2026, quarter)


# --- draft and submission ------------------------------------------------------------------------


def _generate(world, year=2026, quarter=1):
    return reports.generate(world.ent_xm, "quarter", year, quarter, by=world.ent_xm_head)


def _submit(report, world, day, **extra):
    with mock.patch("django.utils.timezone.now", return_value=_at(day)):
        return reports.submit(report, by=world.ent_xm_head, signed_by_name="林志强", analysis="本季度隐患均已整改。",
                              **extra)


def test_generate_drafts_the_report_and_refreshes_its_figures(world):
    # given a hazard in Q1
    _hazard(world, found=D(2026, 2, 1))
    # when the head prepares the Q1 report
    report = _generate(world)
    # then it is a draft with the due date and the figures, audited
    assert (report.due_on, report.is_submitted, report.figures["levels"]["total"]["found"]) == (D(2026, 4, 15), False, 1)
    assert AuditEntry.objects.filter(object_type="hazards.hazardreport", action="create").count() == 1
    # when another hazard is recorded and the report generated again: same row, new figures
    _hazard(world, found=D(2026, 3, 1))
    again = _generate(world)
    assert again.pk == report.pk and again.figures["levels"]["total"]["found"] == 2
    assert HazardReport.objects.count() == 1


def test_regulators_see_submitted_reports_only(world):
    report = _generate(world)
    assert not HazardReport.objects.visible_to(world.xm_officer).exists()
    assert HazardReport.objects.visible_to(world.ent_xm_staff).get() == report
    _submit(report, world, D(2026, 4, 10))
    assert HazardReport.objects.visible_to(world.xm_officer).get() == report
    assert not HazardReport.objects.visible_to(world.fz_officer).exists()


@pytest.mark.parametrize("_case, day, late", [
    ("_day after the quarter", D(2026, 4, 1), False),
    ("_on the due date", D(2026, 4, 15), False),
    ("_the day after the due date", D(2026, 4, 16), True),
])
def test_submission_is_late_only_after_the_due_date(world, _case, day, late):
    report = _submit(_generate(world), world, day)
    assert report.is_submitted and report.late is late
    assert report.submission_state == ("late" if late else "on_time")


def test_late_is_judged_on_the_date_in_shanghai(world):
    # 2026-04-15 23:30 in Shanghai is 15:30 UTC: still the due date
    report = _generate(world)
    utc = datetime.datetime(2026, 4, 15, 15, 30, tzinfo=datetime.UTC)
    with mock.patch("django.utils.timezone.now", return_value=utc):
        reports.submit(report, by=world.ent_xm_head, signed_by_name="林志强", analysis="分析")
    report.refresh_from_db()
    assert report.late is False


def test_submit_recomputes_then_freezes_the_figures(world):
    # given a draft generated before a late entry
    report = _generate(world)
    _hazard(world, found=D(2026, 3, 20))
    # when submitted: the figures include it
    _submit(report, world, D(2026, 4, 2))
    assert report.figures["levels"]["total"]["found"] == 1 and report.signed_by_name == "林志强"
    entry = AuditEntry.objects.filter(object_type="hazards.hazardreport", action="transition").get()
    assert entry.detail == "submit"
    # then later records do not change it, and it cannot be regenerated or submitted again
    _hazard(world, found=D(2026, 3, 25))
    with pytest.raises(ValidationError):
        _generate(world)
    with pytest.raises(ValidationError):
        _submit(report, world, D(2026, 4, 3))
    report.refresh_from_db()
    assert report.figures["levels"]["total"]["found"] == 1


def test_a_stale_copy_cannot_submit_twice(world):
    report = _generate(world)
    stale = HazardReport.objects.get(pk=report.pk)
    _submit(report, world, D(2026, 4, 2))
    with pytest.raises(InvalidTransition):
        _submit(stale, world, D(2026, 4, 3))
    assert AuditEntry.objects.filter(object_type="hazards.hazardreport", action="transition").count() == 1


def test_submission_needs_the_signer_the_analysis_and_an_ended_period(world):
    report = _generate(world)
    with pytest.raises(ValidationError) as info:
        reports.submit(report, by=world.ent_xm_head, signed_by_name=" ", analysis="")
    assert set(info.value.message_dict) == {"signed_by_name", "analysis"}
    with pytest.raises(ValidationError):
        _submit(report, world, D(2026, 3, 31))  # the quarter's last day
    report.refresh_from_db()
    assert not report.is_submitted


def test_only_the_head_of_the_enterprise_generates_and_submits(world):
    with pytest.raises(PermissionDenied):
        reports.generate(world.ent_xm, "quarter", 2026, 1, by=world.ent_xm_staff)
    with pytest.raises(PermissionDenied):
        reports.generate(world.ent_xm, "quarter", 2026, 1, by=world.xm_officer)
    with pytest.raises(PermissionDenied):
        reports.generate(world.ent_fz, "quarter", 2026, 1, by=world.ent_xm_head)
    report = _generate(world)
    with pytest.raises(PermissionDenied):
        reports.submit(report, by=world.ent_xm_staff, signed_by_name="x", analysis="x")
    assert not HazardReport.objects.filter(submitted_at__isnull=False).exists()


def test_a_future_period_cannot_be_prepared(world):
    year = timezone.localdate().year + 1
    with pytest.raises(ValidationError):
        reports.generate(world.ent_xm, "quarter", year, 1, by=world.ent_xm_head)


# --- pages ----------------------------------------------------------------------------------------


def test_pages_prepare_print_and_submit_a_report(client, world):
    # given a closed and an open hazard last quarter
    year, quarter = reports.last_ended_quarter(timezone.localdate())
    start, end = reports.period_bounds("quarter", year, quarter)
    _hazard(world, found=start, closed=start + datetime.timedelta(days=3), funds=800)
    _hazard(world, found=end, deadline=end + datetime.timedelta(days=9))
    client.force_login(world.ent_xm_head)
    # when the head prepares the report
    assert client.get(reverse("hazards:report_generate")).status_code == 200
    response = client.post(reverse("hazards:report_generate"), {"kind": "quarter", "year": year, "quarter": quarter})
    report = HazardReport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("hazards:hazardreport_detail",
                                                                           args=[report.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200 and page.context["can_submit"]
    assert b'data-testid="figures"' in page.content and b"800.00" in page.content
    # when signed and submitted
    response = client.post(reverse("hazards:report_submit", args=[report.pk]),
                           {"signed_by_name": "林志强", "analysis": "本季度发现隐患2项。"})
    report.refresh_from_db()
    assert response.status_code == 302 and report.is_submitted and report.submitted_by == world.ent_xm_head
    assert report.late is (timezone.localdate() > report.due_on)
    # then the page shows it signed, without the submit form
    page = client.get(reverse("hazards:hazardreport_detail", args=[report.pk]))
    assert not page.context["can_submit"] and "林志强" in page.content.decode()
    # and the city regulator sees it, filters it and exports the figures
    client.force_login(world.xm_officer)
    listing = client.get(reverse("hazards:hazardreport_list"), {"submission": "late" if report.late else "on_time"})
    assert [r.pk for r in listing.context["rows"]] == [report.pk]
    by_enterprise = client.get(reverse("hazards:hazardreport_list"), {"enterprise": world.ent_xm_construction.pk})
    assert list(by_enterprise.context["rows"]) == []  # the enterprise file's tab filter (一企一档)
    export = client.get(reverse("hazards:hazardreport_list"), {"export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(export.content)).worksheets[0].values)
    header, row = rows[0], rows[1]
    assert row[0] == world.ent_xm.name and row[header.index("排查发现隐患数")] == 2
    assert AuditEntry.objects.filter(action="export", object_type="hazards.hazardreport").count() == 1


def test_pages_refuse_the_steps_to_others(client, world):
    report = _generate(world)
    client.force_login(world.xm_officer)
    assert client.get(reverse("hazards:report_generate")).status_code == 403
    assert client.post(reverse("hazards:report_submit", args=[report.pk]), {}).status_code == 404  # a draft
    client.force_login(world.ent_xm_staff)
    assert client.post(reverse("hazards:report_submit", args=[report.pk]),
                       {"signed_by_name": "x", "analysis": "x"}).status_code == 403
    client.force_login(world.fz_officer)
    assert client.get(reverse("hazards:hazardreport_detail", args=[report.pk])).status_code == 404


# --- who has not submitted -------------------------------------------------------------------------


def test_missing_reports_lists_enterprises_without_a_submitted_report(client, world):
    # given the 厦门 enterprises (chemicals, construction), one of which has submitted Q1 2026
    other = make_enterprise("厦门同安百货有限公司", "350212", key_class="other")  # no filing duty here
    report = _generate(world)
    _submit(report, world, D(2026, 4, 20))
    client.force_login(world.xm_officer)
    # when the city bureau asks who has not submitted Q1 2026 (due 15 April, past)
    page = client.get(reverse("hazards:report_missing"), {"kind": "quarter", "year": 2026, "quarter": 1})
    # then only the construction company is listed, flagged late
    names = [e.name for e in page.context["page"].object_list]
    assert names == [world.ent_xm_construction.name] and page.context["late"]
    assert other.name not in names
    # the housing department sees only construction; 福州 sees its own enterprise
    client.force_login(world.xm_housing_staff)
    page = client.get(reverse("hazards:report_missing"), {"kind": "quarter", "year": 2026, "quarter": 1})
    assert [e.name for e in page.context["page"].object_list] == [world.ent_xm_construction.name]
    client.force_login(world.fz_officer)
    page = client.get(reverse("hazards:report_missing"), {"kind": "quarter", "year": 2026, "quarter": 1})
    assert [e.name for e in page.context["page"].object_list] == [world.ent_fz.name]
    # export (regulators), audited; enterprises may not open the page
    response = client.get(reverse("hazards:report_missing"),
                          {"kind": "quarter", "year": 2026, "quarter": 1, "export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).worksheets[0].values)
    assert rows[1][0] == world.ent_fz.name
    assert AuditEntry.objects.filter(action="export", object_type="hazards.hazardreport").count() == 1
    client.force_login(world.ent_xm_head)
    assert client.get(reverse("hazards:report_missing")).status_code == 403


def test_missing_reports_defaults_to_the_last_ended_quarter(client, world):
    client.force_login(world.xm_officer)
    page = client.get(reverse("hazards:report_missing"))
    year, quarter = reports.last_ended_quarter(timezone.localdate())
    assert page.status_code == 200
    assert page.context["due"] == reports.due_date("quarter", year, quarter)


# --- API ------------------------------------------------------------------------------------------


def test_api_generates_and_submits_a_report(client, world):
    _hazard(world, found=D(2026, 2, 1))
    client.force_login(world.ent_xm_head)
    response = client.post("/api/v1/hazards/reports/generate", {"kind": "quarter", "year": 2026, "quarter": 1},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["figures"]["levels"]["total"]["found"] == 1 and body["submitted_at"] is None
    url = f"/api/v1/hazards/reports/{body['id']}/submit"
    response = client.post(url, {"signed_by_name": "", "analysis": ""}, content_type="application/json")
    assert response.status_code == 400 and set(response.json()["field_errors"]) == {"signed_by_name", "analysis"}
    response = client.post(url, {"signed_by_name": "林志强", "analysis": "无"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["submission_state"] in ("on_time", "late")
    response = client.post("/api/v1/hazards/reports/generate", {"kind": "quarter", "year": 2026, "quarter": 1},
                           content_type="application/json")
    assert response.status_code == 400  # submitted: it no longer changes
    client.force_login(world.xm_officer)
    assert client.post("/api/v1/hazards/reports/generate", {"kind": "quarter", "year": 2026, "quarter": 1},
                       content_type="application/json").status_code == 403
    assert client.get("/api/v1/hazards/reports/").json()["count"] == 1
    client.force_login(world.fz_officer)
    assert client.post(url, {"signed_by_name": "x", "analysis": "x"}, content_type="application/json").status_code == 404
