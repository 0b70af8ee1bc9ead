"""Hazard entries for the generic authorisation test (core/tests/test_scoping.py)."""

import datetime

from worksafe.core.tests.spec import ScopedSpec
from worksafe.hazards.models import Hazard, Listing

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


SPECS = [
    ScopedSpec(model=Hazard, make=_hazard, form_data=_data,
               new_data=lambda world, h: {**_data(world, h), "title": "消防通道堵塞"},
               move=lambda world, h: {"enterprise": world.ent_fz.pk}, api="hazards/hazards", api_data=_data),
    ScopedSpec(model=Listing, make=_listing, form_data=None, new_data=None, move=None, api="hazards/listings",
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
}
