"""Builders for tests and the demo: one world, built the same way everywhere.

`build_world()` makes a small, fast set of organisations, enterprises and users (one per role) in
real Fujian jurisdictions (loaded by the core migrations). The demo dataset
(worksafe/enterprises/demo.py) uses the same builders for its named rows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.contrib.auth.models import Group

from worksafe.core import roles as R
from worksafe.core.choices import DEPARTMENT_CLASSES, Department, OrganisationKind
from worksafe.core.models import Jurisdiction, Organisation, User

_credit_counter = itertools.count(1)


def make_org(name: str, kind: str, jurisdiction_code: str, department: str = "",
             supervised_classes: list[str] | None = None, **extra) -> Organisation:
    """An Organisation in an existing jurisdiction. An industry department with no
    supervised_classes given gets its department's defaults (DEPARTMENT_CLASSES)."""
    if supervised_classes is None:
        supervised_classes = DEPARTMENT_CLASSES.get(department, []) if kind == OrganisationKind.INDUSTRY else []
    return Organisation.objects.create(
        name=name, kind=kind, jurisdiction_id=jurisdiction_code, department=department,
        supervised_classes=[str(c) for c in supervised_classes], **extra,
    )


def role_groups(roles: list[str]) -> list[Group]:
    """The Groups for these role names; creates them (sync_roles) if any is missing."""
    roles = list(roles)
    groups = list(Group.objects.filter(name__in=roles))
    if len(groups) < len(set(roles)):
        R.sync_roles()
        groups = list(Group.objects.filter(name__in=roles))
    missing = set(roles) - {g.name for g in groups}
    if missing:
        raise ValueError(f"unknown roles: {', '.join(sorted(missing))}")
    return groups


def make_user(username: str, org: Organisation | None, roles: list[str], password: str | None = None,
              full_name: str = "", **extra) -> User:
    """A User in `org` holding `roles` (Group names). Without a password the password is unusable
    (tests log in with client.force_login)."""
    user = User.objects.create_user(username, password=None, organisation=org, full_name=full_name,
                                    must_change_password=False, **extra)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    else:
        # set_password (not create_user's make_password) so password_changed_at and the history are kept.
        user.set_password(password)
        user.save()
    if roles:
        user.groups.set(role_groups(roles))
    return user


def build_credit_code(county_code: str, body: str, first: str = "9", second: str = "1") -> str:
    """A valid 18-character unified social credit code from its parts (body = the 9 characters
    at positions 9–17); 9 = registered by market regulation, 1 = enterprise."""
    from worksafe.enterprises.rules import credit_code_check_char

    first17 = f"{first}{second}{county_code}{body}"
    return first17 + credit_code_check_char(first17)


def next_credit_code(county_code: str) -> str:
    """A fresh valid credit code, deterministic within a process (counter-based body)."""
    from worksafe.enterprises.rules import CREDIT_CODE_CHARSET

    n = next(_credit_counter)
    digits = []
    for _ in range(8):
        n, r = divmod(n, len(CREDIT_CODE_CHARSET))
        digits.append(CREDIT_CODE_CHARSET[r])
    # Body "T" + 8 base-31 digits: the demo's bodies never start with T, so the two never collide.
    return build_credit_code(county_code, "T" + "".join(reversed(digits)))


def make_enterprise(name: str, county_code: str, *, industry: str = "26", key_class: str = "hazchem",
                    township: str | None = None, credit_code: str | None = None, with_org: bool = False,
                    **extra):
    """An Enterprise in `county_code`; `with_org=True` also creates its Organisation (kind
    enterprise, same county) so enterprise users can belong to it."""
    from worksafe.enterprises.models import Enterprise

    organisation = None
    if with_org:
        organisation = make_org(name, OrganisationKind.ENTERPRISE, county_code)
    extra.setdefault("legal_representative", "陈建国")
    return Enterprise.objects.create(
        name=name, credit_code=credit_code or next_credit_code(county_code), county_id=county_code,
        township_id=township, industry_id=industry, key_class=key_class, organisation=organisation, **extra,
    )


@dataclass
class World:
    # jurisdictions
    province: Jurisdiction  # 35 福建省
    xiamen: Jurisdiction  # 3502 厦门市
    siming: Jurisdiction  # 350203 思明区
    fuzhou: Jurisdiction  # 3501 福州市
    gulou: Jurisdiction  # 350102 鼓楼区 (福州)
    # organisations
    province_org: Organisation
    xm_org: Organisation
    fz_org: Organisation
    xm_housing_org: Organisation
    # enterprises
    ent_xm: object
    ent_fz: object
    ent_xm_construction: object
    # users
    province_officer: User
    xm_officer: User
    fz_officer: User
    xm_housing_staff: User
    ent_xm_staff: User
    ent_xm_head: User
    ent_fz_staff: User
    system_admin: User
    security_admin: User
    audit_admin: User
    no_role: User


def build_world() -> World:
    """The shared test world: 3 regulators + 1 industry department, 3 enterprises, 11 users."""
    j = {j.code: j for j in Jurisdiction.objects.filter(code__in=["35", "3502", "350203", "3501", "350102"])}
    emergency = OrganisationKind.EMERGENCY
    province_org = make_org("福建省应急管理厅", emergency, "35")
    xm_org = make_org("厦门市应急管理局", emergency, "3502")
    fz_org = make_org("福州市应急管理局", emergency, "3501")
    xm_housing_org = make_org("厦门市住房和建设局", OrganisationKind.INDUSTRY, "3502", department=Department.HOUSING,
                              supervised_classes=DEPARTMENT_CLASSES[Department.HOUSING])

    ent_xm = make_enterprise("厦门鹭江化工有限公司", "350203", township="350203001", with_org=True,
                             employees=180, scale="above", legal_representative="林志强",
                             address="厦门市思明区鹭江道88号")
    ent_fz = make_enterprise("福州闽江化学品有限公司", "350102", with_org=True, employees=65,
                             legal_representative="陈明华", address="福州市鼓楼区五四路120号")
    ent_xm_construction = make_enterprise("厦门嘉禾建设工程有限公司", "350203", industry="47",
                                          key_class="construction", legal_representative="黄文斌",
                                          employees=320)

    return World(
        province=j["35"], xiamen=j["3502"], siming=j["350203"], fuzhou=j["3501"], gulou=j["350102"],
        province_org=province_org, xm_org=xm_org, fz_org=fz_org, xm_housing_org=xm_housing_org,
        ent_xm=ent_xm, ent_fz=ent_fz, ent_xm_construction=ent_xm_construction,
        province_officer=make_user("province_officer", province_org, [R.REGULATOR_STAFF], full_name="郑卫东"),
        xm_officer=make_user("xm_officer", xm_org, [R.REGULATOR_STAFF], full_name="林晓峰"),
        fz_officer=make_user("fz_officer", fz_org, [R.REGULATOR_STAFF], full_name="陈立新"),
        xm_housing_staff=make_user("xm_housing_staff", xm_housing_org, [R.INDUSTRY_STAFF], full_name="吴海燕"),
        ent_xm_staff=make_user("ent_xm_staff", ent_xm.organisation, [R.ENTERPRISE_STAFF], full_name="王丽娟"),
        ent_xm_head=make_user("ent_xm_head", ent_xm.organisation, [R.ENTERPRISE_HEAD], full_name="林志强"),
        ent_fz_staff=make_user("ent_fz_staff", ent_fz.organisation, [R.ENTERPRISE_STAFF], full_name="张秀英"),
        system_admin=make_user("system_admin", province_org, [R.SYSTEM_ADMIN], full_name="许建平"),
        security_admin=make_user("security_admin", province_org, [R.SECURITY_ADMIN], full_name="蔡文静"),
        audit_admin=make_user("audit_admin", province_org, [R.AUDIT_ADMIN], full_name="黄振华"),
        no_role=make_user("no_role", xm_org, [], full_name="刘洋"),
    )
