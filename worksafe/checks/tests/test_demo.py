"""The demo's checks: a year of plans, tasks and records at the largest enterprises, every flag kind raised by
the enterprises that tick without checking, failures become hazards (the older ones closed), built once."""

import pytest
from django.utils import timezone

from worksafe.checks.demo import build_demo as build_checks
from worksafe.checks.models import CheckRecord, CheckResult, CheckTask, FormalismFlag
from worksafe.enterprises.demo import build_demo


@pytest.mark.django_db
def test_demo_checks_show_real_work_some_formalism_and_hazards(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    build_demo(enterprises=300)
    created = build_checks(enterprises=12, days=120)
    assert created > 300 and CheckRecord.objects.count() == created
    # most tasks are done, some missed, today's are still open (chem_staff has one to do on the phone)
    today = timezone.localdate()
    past = CheckTask.objects.filter(due_on__lt=today)
    done = past.filter(status="done").count()
    assert 0.6 < done / past.count() < 0.97
    assert CheckTask.objects.filter(status="open", due_on=today, assignee__username="chem_staff").exists()
    # every kind of flag shows up, on a minority of records
    assert set(FormalismFlag.objects.values_list("kind", flat=True)) == {"duration", "photo_reuse", "copied_text",
                                                                          "far_away"}
    assert 0.01 < CheckRecord.objects.filter(flag_count__gt=0).count() / created < 0.3
    # failures became self-check hazards; the older ones went round the loop and are closed
    hazards = CheckResult.objects.filter(hazard__isnull=False).select_related("hazard")
    assert hazards.exists() and {r.hazard.source for r in hazards} == {"self_check"}
    assert {r.hazard.status for r in hazards} >= {"closed"}
    assert build_checks(enterprises=12, days=120) == 0
