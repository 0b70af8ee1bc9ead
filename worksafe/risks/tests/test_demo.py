"""The demo's risk points: 3–8 per large enterprise, 2–4 measures each, graded by the rules, built once."""

import pytest
from django.db.models import Count

from worksafe.enterprises.demo import build_demo
from worksafe.risks import rules
from worksafe.risks.demo import build_demo as build_risks
from worksafe.risks.models import RiskPoint


@pytest.mark.django_db
def test_demo_points_are_graded_by_the_rules_and_built_once():
    build_demo(enterprises=300)
    created = build_risks(enterprises=15)
    assert created >= 45
    per_enterprise = RiskPoint.objects.values("enterprise_id").annotate(n=Count("id"))
    assert len(per_enterprise) == 15 and all(3 <= r["n"] <= 8 for r in per_enterprise)
    assert RiskPoint.objects.filter(enterprise__organisation__users__username="chem_admin").exists()
    for point in RiskPoint.objects.prefetch_related("assessments", "measures"):
        (a,) = point.assessments.all()
        if a.method == "lec":
            result = rules.lec(a.likelihood, a.exposure, a.consequence)
        else:
            result = rules.ls(int(a.likelihood), int(a.severity), scheme=a.criterion)
        assert (point.level, point.score) == (result.level, result.score)
        assert point.control_tier == rules.control_tier_for(point.level)
        assert 2 <= len(point.measures.all()) <= 4 and point.accident_types
    assert {p.level for p in RiskPoint.objects.all()} == set(rules.LEVELS)
    assert build_risks(enterprises=15) == 0
