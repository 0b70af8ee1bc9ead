"""Risk grading entries for the generic authorisation test (core/tests/test_scoping.py)."""

from worksafe.core.tests.spec import ScopedSpec
from worksafe.risks.models import ControlMeasure, RiskAssessment, RiskPoint


def point_of(ent, code="FX-01"):
    point, _created = RiskPoint.objects.get_or_create(
        enterprise=ent, code=code,
        defaults={"name": f"{ent.name}液氨储罐区", "kind": "unit", "location": "罐区东侧",
                  "accident_types": ["fire", "poisoning"], "responsible_person": "陈志远",
                  "responsible_phone": "13859981234"})
    return point


def _point_data(world, p):
    return {"enterprise": p.enterprise_id, "code": p.code, "name": p.name, "kind": p.kind, "location": p.location,
            "accident_types": list(p.accident_types), "hazard_factors": p.hazard_factors,
            "control_tier_override": p.control_tier_override, "responsible_person": p.responsible_person,
            "responsible_phone": p.responsible_phone}


def _assessment(world, ent):
    from worksafe.risks import actions

    return actions.assess(point_of(ent), by=world.ent_xm_head, method="lec", L=3, E=6, C=7, note=f"{ent.name}评价")


def _measure(world, ent):
    return ControlMeasure.objects.create(point=point_of(ent), kind="engineering",
                                         description=f"{ent.name}罐区设置可燃有毒气体检测报警", responsible="设备部")


def _measure_data(world, m):
    return {"point": m.point_id, "kind": m.kind, "description": m.description, "responsible": m.responsible}


SPECS = [
    ScopedSpec(model=RiskPoint, make=lambda world, ent: point_of(ent), form_data=_point_data,
               new_data=lambda world, p: {**_point_data(world, p), "code": "FX-02"},
               move=lambda world, p: {"enterprise": world.ent_fz.pk}, api="risks/riskpoints", api_data=_point_data),
    # Versions: added only by assessing a point (riskpoint_assess), never edited, so read-only here.
    ScopedSpec(model=RiskAssessment, make=_assessment, form_data=None, new_data=None, move=None,
               api="risks/riskassessments", api_data=None, ui_names=["list", "detail"], writable=False),
    ScopedSpec(model=ControlMeasure, make=_measure, form_data=_measure_data, new_data=_measure_data,
               move=lambda world, m: {"point": point_of(world.ent_fz).pk}, api="risks/controlmeasures",
               api_data=_measure_data),
]

# Scoped like the rest (get_visible_or_404 / visible_to) and tested in test_views.py.
COVERED_ELSEWHERE = {
    "risks:riskpoint_assess": "test_views.py::test_assess_*",
    "risks:riskpoint_card": "test_views.py::test_card_pdf_*",
    "risks:riskpoint_import": "test_views.py::test_import_*",
    "risks:map": "test_views.py::test_map_*",
    "api-1:riskpoint-assess": "test_views.py::test_api_assess_*",
}
