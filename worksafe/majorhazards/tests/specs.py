"""Major hazard source entries for the generic authorisation test (core/tests/test_scoping.py)."""

from worksafe.core.tests.spec import ScopedSpec
from worksafe.majorhazards.models import Change, Custodian, CustodianCheck, MajorHazard, Substance


def hazard_of(ent):
    hazard, _created = MajorHazard.objects.get_or_create(
        enterprise=ent, code="MH-01",
        defaults={"name": f"{ent.name}液氨储罐区", "unit_kind": "storage", "people_within_500m": 40})
    return hazard


def _hazard_data(world, h):
    return {"enterprise": h.enterprise_id, "code": h.code, "name": h.name, "unit_kind": h.unit_kind,
            "location": h.location, "lng": "", "lat": "", "people_within_500m": h.people_within_500m or "",
            "evaluation_report_on": h.evaluation_report_on or ""}


def _hazard_api(world, h):
    return {**_hazard_data(world, h), "lng": None, "lat": None, "evaluation_report_on": None}


def _substance(world, ent):
    return Substance.objects.create(hazard=hazard_of(ent), name="液氨", cas="7664-41-7", q=12)


def _substance_data(world, s):
    return {"hazard": s.hazard_id, "name": s.name, "cas": s.cas, "categories": s.categories, "q": str(s.q),
            "q_override": "", "beta_override": ""}


def _substance_api(world, s):
    return {**_substance_data(world, s), "q_override": None, "beta_override": None}


def _custodian(world, ent):
    return Custodian.objects.create(hazard=hazard_of(ent), role="technical", name=f"{ent.name[:4]}技术员",
                                    phone="13800000000", appointed_on="2026-01-05")


def _custodian_data(world, c):
    return {"hazard": c.hazard_id, "role": c.role, "name": c.name, "position": c.position, "phone": c.phone,
            "appointed_on": str(c.appointed_on)}


def _check(world, ent):
    return CustodianCheck.objects.create(custodian=_custodian(world, ent), checked_on="2026-06-30",
                                         findings="储罐区巡检正常")


def _check_data(world, c):
    return {"custodian": c.custodian_id, "checked_on": str(c.checked_on), "hazards_found": c.hazards_found,
            "findings": c.findings}


def _change(world, ent):
    return Change.objects.create(hazard=hazard_of(ent), kind="substance", occurred_on="2026-05-01",
                                 description=f"{ent.name}新增储罐")


def _change_data(world, c):
    return {"hazard": c.hazard_id, "kind": c.kind, "occurred_on": str(c.occurred_on), "description": c.description}


SPECS = [
    ScopedSpec(model=MajorHazard, make=lambda world, ent: hazard_of(ent), form_data=_hazard_data,
               new_data=lambda world, h: {**_hazard_data(world, h), "code": "MH-02"},
               move=lambda world, h: {"enterprise": world.ent_fz.pk}, api="majorhazards/majorhazards",
               api_data=_hazard_api),
    ScopedSpec(model=Substance, make=_substance, form_data=_substance_data, new_data=_substance_data,
               move=lambda world, s: {"hazard": hazard_of(world.ent_fz).pk}, api="majorhazards/substances",
               api_data=_substance_api),
    ScopedSpec(model=Custodian, make=_custodian, form_data=_custodian_data,
               new_data=lambda world, c: {**_custodian_data(world, c), "role": "operational"},
               move=lambda world, c: {"hazard": hazard_of(world.ent_fz).pk}, api="majorhazards/custodians",
               api_data=_custodian_data),
    ScopedSpec(model=CustodianCheck, make=_check, form_data=_check_data, new_data=_check_data,
               move=lambda world, c: {"custodian": _custodian(world, world.ent_fz).pk}
               if not Custodian.objects.filter(hazard__enterprise=world.ent_fz).exists()
               else {"custodian": Custodian.objects.filter(hazard__enterprise=world.ent_fz).first().pk},
               api="majorhazards/custodianchecks", api_data=_check_data),
    ScopedSpec(model=Change, make=_change, form_data=_change_data, new_data=_change_data,
               move=lambda world, c: {"hazard": hazard_of(world.ent_fz).pk}, api="majorhazards/changes",
               api_data=_change_data),
]

# Scoped like the rest (get_visible_or_404 / visible_to) and tested in test_views.py.
COVERED_ELSEWHERE = {
    "majorhazards:majorhazard_assess": "test_views.py::test_assess_*",
    "majorhazards:majorhazard_file": "test_views.py::test_filing_*",
    "majorhazards:majorhazard_deregister": "test_views.py::test_deregister_*",
    "majorhazards:majorhazard_pdf": "test_views.py::test_registration_pdf_*",
    "majorhazards:majorhazard_import": "test_views.py::test_import_*",
    "majorhazards:overdue": "test_views.py::test_overdue_*",
    "majorhazards:map": "test_views.py::test_map_*",
    "majorhazards:catalogue": "test_views.py::test_catalogue_*",
    "api-1:majorhazard-assess": "test_views.py::test_api_assess_*",
}
