"""The demo dataset: coverage, valid credit codes, coordinates, accounts, determinism, idempotence."""

import pytest
from django.contrib.auth.hashers import check_password
from django.db import transaction

from worksafe.core import geo
from worksafe.core.models import Jurisdiction, Organisation, PasswordHistory, User
from worksafe.enterprises import rules
from worksafe.enterprises.demo import CHEM_ENTERPRISE, DEMO_ACCOUNTS, DEMO_PASSWORD, build_demo
from worksafe.enterprises.models import Enterprise, Licence

N = 300
KINMEN = "350527"


class _Rollback(Exception):
    pass


def _first_codes(n=5):
    return list(Enterprise.objects.order_by("id").values_list("credit_code", flat=True)[:n])


@pytest.mark.django_db
def test_every_county_but_kinmen_has_enterprises():
    result = build_demo(enterprises=N)
    assert result["created"]
    counties = set(Jurisdiction.objects.filter(level="county").values_list("code", flat=True))
    assert len(counties) == 84
    assert set(Enterprise.objects.values_list("county_id", flat=True)) == counties - {KINMEN}
    assert Enterprise.objects.count() >= N


@pytest.mark.django_db
def test_enterprise_rows_are_consistent():
    build_demo(enterprises=N)
    codes = list(Enterprise.objects.values_list("credit_code", flat=True))
    assert len(codes) == len(set(codes))
    assert [c for c in codes if rules.credit_code_error(c)] == []
    assert all(c[2:8] == county for c, county in Enterprise.objects.values_list("credit_code", "county_id"))
    for ent in Enterprise.objects.select_related("township", "industry"):
        assert ent.industry.level == "division"
        assert ent.township is None or (ent.township.parent_id == ent.county_id and ent.township.name != "马祖乡")
        assert ent.legal_representative
        if ent.key_class == "hazchem":
            assert ent.industry_id in ("25", "26"), ent.name
        if ent.key_class == "construction":
            assert ent.industry_id in ("47", "48", "49", "50"), ent.name


@pytest.mark.django_db
def test_every_enterprise_inside_its_county_polygon():
    build_demo(enterprises=N)
    outside = [(name, county, lng, lat)
               for name, county, lng, lat in Enterprise.objects.values_list("name", "county_id", "lng", "lat")
               if lng is None or not geo.point_in_county(float(lng), float(lat), county)]
    assert outside == []


@pytest.mark.django_db
def test_demo_accounts_and_licences():
    result = build_demo(enterprises=N)
    assert [a["username"] for a in result["accounts"]] == [a[0] for a in DEMO_ACCOUNTS]
    for username, role, _key, _name in DEMO_ACCOUNTS:
        user = User.objects.get(username=username)
        assert set(user.groups.values_list("name", flat=True)) == {role}
        assert not user.must_change_password
        assert check_password(DEMO_PASSWORD, user.password)
        assert PasswordHistory.objects.filter(user=user).count() == 1
    chem = Enterprise.objects.get(name=CHEM_ENTERPRISE)
    assert User.objects.get(username="chem_admin").organisation == chem.organisation
    assert User.objects.get(username="county_admin").organisation.jurisdiction_id == "350505"
    assert Organisation.objects.filter(kind="emergency").count() == 1 + 9 + 84
    hazchem = Enterprise.objects.filter(key_class="hazchem")
    assert hazchem.exists()
    assert not hazchem.filter(licences__isnull=True).exists()
    assert Licence.objects.filter(enterprise__key_class__in=["noncoal_mine", "coal_mine"]).exists()


@pytest.mark.django_db
def test_same_seed_gives_same_data():
    with pytest.raises(_Rollback), transaction.atomic():
        build_demo(enterprises=N, seed=7)
        first = _first_codes()
        names = list(Enterprise.objects.order_by("id").values_list("name", flat=True))
        raise _Rollback
    assert not Enterprise.objects.exists()
    build_demo(enterprises=N, seed=7)
    assert _first_codes() == first
    assert list(Enterprise.objects.order_by("id").values_list("name", flat=True)) == names

    with transaction.atomic():
        Licence.objects.all().delete()
        Enterprise.objects.all().delete()
        User.objects.all().delete()
    with pytest.raises(_Rollback), transaction.atomic():
        build_demo(enterprises=N, seed=8)
        assert _first_codes() != first
        raise _Rollback


@pytest.mark.django_db
def test_second_call_creates_nothing():
    first = build_demo(enterprises=N)

    def counts():
        return [m.objects.count() for m in (Enterprise, Licence, Organisation, User, PasswordHistory)]

    before = counts()
    second = build_demo(enterprises=N)
    assert not second["created"]
    assert counts() == before
    assert second["accounts"] == first["accounts"]
