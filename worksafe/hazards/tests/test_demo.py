"""The demo hazards: a year of realistic states with consistent timelines, listings that escalate, and reports
whose figures equal the records; built once."""

import time
from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from worksafe.core.models import TransitionLog, User
from worksafe.enterprises.demo import build_demo as build_enterprises
from worksafe.hazards import reports, rules
from worksafe.hazards.demo import build_demo
from worksafe.hazards.models import Hazard, HazardReport, Listing
from worksafe.hazards.views import escalated_to
from worksafe.majorhazards.demo import build_demo as build_majorhazards


@pytest.fixture
def demo(db):
    build_enterprises(enterprises=300)
    build_majorhazards(per_city=4)
    started = time.monotonic()
    created = build_demo()
    return created, time.monotonic() - started


def test_demo_hazards_are_in_realistic_states(demo):
    created, seconds = demo
    today = timezone.localdate()
    hazards = list(Hazard.objects.all())
    assert created == len(hazards) > 300 and seconds < 30
    assert 55 <= len({h.enterprise_id for h in hazards}) <= 60
    assert all(today - h.found_on <= timezone.timedelta(days=365) for h in hazards)
    states = Counter(h.status for h in hazards)
    assert states["closed"] > len(hazards) / 2
    assert states["rectifying"] and states["awaiting_verification"] and states["reported"]
    overdue = [h for h in hazards if h.deadline_state == "overdue"]
    assert 0 < len(overdue) < len(hazards) / 5
    majors = [h for h in hazards if h.level == "major"]
    assert len(majors) >= 8 and all(h.status_and_causes and h.harm_and_difficulty and h.treatment_plan for h in majors)
    codes = Counter((h.enterprise_id, h.code) for h in hazards)
    assert max(codes.values()) == 1 and all(h.code.startswith(f"YH-{h.found_on.year}-") for h in hazards)


def test_every_timeline_matches_its_hazard(demo):
    content_type = ContentType.objects.get_for_model(Hazard)
    steps: dict[str, list] = {}
    for log in TransitionLog.objects.filter(content_type=content_type).order_by("at", "id"):
        steps.setdefault(log.object_id, []).append(log)
    for hazard in Hazard.objects.all():
        timeline = steps[str(hazard.pk)]
        assert timeline[0].action == "report" and timeline[-1].to_state == hazard.status, hazard.code
        for before, after in zip(timeline, timeline[1:], strict=False):
            assert after.from_state == before.to_state, (hazard.code, before.action, after.action)
        assert (hazard.status == "closed") == (hazard.closed_on is not None)
        if hazard.closed_on:
            assert timeline[-1].action == "verify" and timezone.localdate(timeline[-1].at) == hazard.closed_on
            assert hazard.verified_by_id != hazard.rectified_by_id
        assert all(timezone.localdate(s.at) <= timezone.localdate() for s in timeline)


def test_overdue_listings_escalate_one_level_up(demo):
    listings = list(Listing.objects.select_related("listed_by", "hazard"))
    assert {lst.status for lst in listings} == {"listed", "lifted"}
    assert all(lst.hazard.level == "major" for lst in listings)
    overdue = [lst for lst in listings if lst.is_overdue]
    assert {len(lst.listed_by.jurisdiction_id) for lst in overdue} == {4, 6}  # county bureaus and 泉州市
    # the demo's city account sees the 厦门 county listings escalated; the province sees 泉州市's
    xm_admin = User.objects.get(username="xm_admin")
    assert escalated_to(xm_admin) and all(lst.listed_by.jurisdiction_id.startswith("3502")
                                          for lst in escalated_to(xm_admin))
    assert [lst.listed_by.jurisdiction_id for lst in escalated_to(User.objects.get(username="province_admin"))] \
        == ["3505"]
    for lst in listings:
        if lst.status == "lifted":
            assert lst.hazard.status == "closed" and lst.hazard.verified_by.organisation_id == lst.listed_by_id


def test_reports_equal_the_records_and_some_are_late(demo):
    submitted = list(HazardReport.objects.filter(submitted_at__isnull=False).select_related("enterprise"))
    assert len(submitted) > 100
    late = [r for r in submitted if r.late]
    assert late and len(late) < len(submitted) / 3
    for report in submitted:
        fresh = reports.compute_figures(report.enterprise, report.kind, report.year, report.quarter)
        assert fresh["levels"] == report.figures["levels"] and fresh["funds"] == report.figures["funds"]
        assert report.late == rules.is_late(report.submitted_at, report.due_on)
        assert report.signed_by_name and report.analysis
    year, quarter = reports.last_ended_quarter(timezone.localdate())
    province_admin = User.objects.get(username="province_admin")
    assert reports.missing_reports(province_admin, "quarter", year, quarter).exists()


def test_demo_is_built_once(demo):
    counts = (Hazard.objects.count(), HazardReport.objects.count(), User.objects.count())
    assert build_demo() == 0
    assert (Hazard.objects.count(), HazardReport.objects.count(), User.objects.count()) == counts
    # the enterprise accounts made for the demo cannot log in
    made = User.objects.filter(username__startswith="ent0")
    assert made.exists() and not any(u.has_usable_password() for u in made)
