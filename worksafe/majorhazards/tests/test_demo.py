"""The demo's major hazard sources sit at chemical enterprises in the parks and are graded by the rules."""

import pytest

from worksafe.enterprises.demo import build_demo
from worksafe.majorhazards import actions, rules
from worksafe.majorhazards.demo import build_demo as build_majorhazards
from worksafe.majorhazards.models import MajorHazard


@pytest.mark.django_db
def test_demo_sources_are_in_the_parks_graded_by_the_rules_and_built_once():
    build_demo(enterprises=300)
    created = build_majorhazards()
    assert created > 10
    hazards = MajorHazard.objects.select_related("enterprise").prefetch_related("substances")
    assert {h.enterprise.county_id[:4] for h in hazards} <= {"3501", "3505", "3506"}
    assert {h.enterprise.key_class for h in hazards} == {"hazchem"}
    for hazard in hazards:
        result = rules.assess_unit([s.as_rule_input() for s in hazard.substances.all()],
                                   people_within_500m=hazard.people_within_500m, **actions.rule_options())
        assert hazard.grade == result.grade and hazard.s_value == rules.to_decimal(result.s)
    assert build_majorhazards() == 0
