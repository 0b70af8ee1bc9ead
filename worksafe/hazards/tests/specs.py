"""Hazard entries for the generic authorisation test (core/tests/test_scoping.py)."""

import datetime

from worksafe.core.tests.spec import ScopedSpec
from worksafe.hazards import reports
from worksafe.hazards.models import Hazard, HazardReport, Listing

FORM_FIELDS = ["enterprise", "title", "location", "level", "source", "found_on", "found_by", "description",
               "status_and_causes", "harm_and_difficulty", "treatment_plan", "workers_congress_record"]


def _hazard(world, ent, level="general"):
    return Hazard.objects.create(
        enterprise=ent, code=f"YH-2026-{ent.pk:04d}", title=f"{ent.name}配电箱未接地", level=level,
        found_on=datetime.date(2026, 11, 2), reported_by=world.province_officer,
        status_and_causes="接地线断开" if level == "major" else "", harm_and_difficulty="触电风险" if level == "major"
        else "", treatment_plan="更换接地线并检测" if level == "major" else "")


def _data(world, h):
    data = {f: getattr(h, h._meta.get_field(f).attname) for f in FORM_FIELDS}
    data["found_on"] = str(h.found_on)
    return data


def _listing(world, ent):
    hazard = _hazard(world, ent, level="major")
    org = world.xm_org if ent.county_id.startswith("3502") else world.fz_org
    return Listing.objects.create(hazard=hazard, listed_by=org, notice_number=f"督办〔2026〕{ent.pk}号",
                                  supervising_office="安全生产委员会办公室", deadline=datetime.date(2027, 3, 31))


def _report(world, ent):
    """A submitted quarterly report (regulators see submitted reports only)."""
    return HazardReport.objects.create(
        enterprise=ent, kind="quarter", year=2026, quarter=1, due_on=reports.due_date("quarter", 2026, 1),
        figures=reports.compute_figures(ent, "quarter", 2026, 1), analysis="本季度无重大隐患。",
        signed_by_name=ent.legal_representative, submitted_at=datetime.datetime(2026, 4, 10, 9, 0, tzinfo=datetime.UTC),
        submitted_by=world.ent_xm_head)


SPECS = [
    ScopedSpec(model=Hazard, make=_hazard, form_data=_data,
               new_data=lambda world, h: {**_data(world, h), "title": "消防通道堵塞"},
               move=lambda world, h: {"enterprise": world.ent_fz.pk}, api="hazards/hazards", api_data=_data),
    ScopedSpec(model=Listing, make=_listing, form_data=None, new_data=None, move=None, api="hazards/listings",
               api_data=None, ui_names=["list", "detail"], writable=False),
    ScopedSpec(model=HazardReport, make=_report, form_data=None, new_data=None, move=None, api="hazards/reports",
               api_data=None, ui_names=["list", "detail"], writable=False),
]

# Workflow steps, escalation and the notice: scoped with get_visible_or_404 / visible_to, tested by hand.
COVERED_ELSEWHERE = {
    "hazards:hazard_assign": "test_workflow.py",
    "hazards:hazard_rectify": "test_workflow.py",
    "hazards:hazard_verify": "test_workflow.py",
    "hazards:hazard_reject": "test_workflow.py",
    "hazards:hazard_list_for_supervision": "test_workflow.py",
    "hazards:listing_pdf": "test_workflow.py::test_notice_pdf_*",
    "hazards:escalated": "test_workflow.py::test_overdue_listing_escalates_*",
    "api-1:hazard-assign": "test_workflow.py::test_api_*",
    "api-1:hazard-rectify": "test_workflow.py::test_api_*",
    "api-1:hazard-verify": "test_workflow.py::test_api_*",
    "api-1:hazard-reject": "test_workflow.py::test_api_*",
    "api-1:hazard-list-for-supervision": "test_workflow.py::test_api_*",
    # statistics reports and the statistics page: test_reports.py / test_statistics.py
    "hazards:report_list": "alias of hazards:hazardreport_list (the menu's name), test_scoping matrix",
    "hazards:report_generate": "test_reports.py::test_pages_*",
    "hazards:report_submit": "test_reports.py::test_pages_*",
    "hazards:report_missing": "test_reports.py::test_missing_*",
    "hazards:statistics": "test_statistics.py",
    "api-1:hazardreport-generate": "test_reports.py::test_api_*",
    "api-1:hazardreport-submit": "test_reports.py::test_api_*",
    "api-1:hazard-statistics": "test_statistics.py::test_api_*",
}
