"""Enterprise registry entries for the generic authorisation test (core/tests/test_scoping.py)."""

from worksafe.core.testing import next_credit_code
from worksafe.core.tests.spec import ScopedSpec
from worksafe.enterprises.models import Enterprise, Licence, LicenceKind

ENTERPRISE_FIELDS = ["name", "credit_code", "county", "township", "address", "lng", "lat", "industry", "key_class",
                     "scale", "employees", "tier", "status", "legal_representative", "legal_representative_phone",
                     "principal", "principal_phone", "safety_manager", "safety_manager_phone"]


def _enterprise_data(world, ent):
    data = {}
    for name in ENTERPRISE_FIELDS:
        field = ent._meta.get_field(name)
        value = getattr(ent, field.attname)
        data[name] = "" if value is None else value
    return data


def _enterprise_new(world, ent):
    return {**_enterprise_data(world, ent), "name": ent.name + "二分厂", "credit_code": next_credit_code(ent.county_id)}


def _licence(world, ent):
    return Licence.objects.create(enterprise=ent, kind=LicenceKind.SAFETY_PRODUCTION,
                                  number=f"(闽)WH安许证字[2024]{ent.pk:04d}", issuer="福建省应急管理厅")


def _licence_data(world, lic):
    return {"enterprise": lic.enterprise_id, "kind": lic.kind, "number": lic.number, "issuer": lic.issuer,
            "issued_on": "", "expires_on": "2027-06-30"}


def _licence_api(world, lic):
    return {**_licence_data(world, lic), "issued_on": None}


SPECS = [
    ScopedSpec(
        model=Enterprise,
        make=lambda world, ent: ent,
        form_data=_enterprise_data,
        new_data=_enterprise_new,
        move=lambda world, ent: {"county": "350102", "township": ""},
        api="enterprises/enterprises",
        api_data=lambda world, ent: {**_enterprise_data(world, ent), "township": ent.township_id,
                                     "lng": None, "lat": None},
    ),
    ScopedSpec(
        model=Licence,
        make=_licence,
        form_data=_licence_data,
        new_data=_licence_data,
        move=lambda world, lic: {"enterprise": world.ent_fz.pk},
        api="enterprises/licences",
        api_data=_licence_api,
    ),
]
