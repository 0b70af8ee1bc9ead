"""Demo major hazard sources at the demo chemical enterprises (泉州 / 漳州 / 福州 parks), graded by the rules.

Deterministic (seeded) and idempotent: nothing is created when any major hazard source exists.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from worksafe.core.models import User
from worksafe.core.scoping import prefix_q
from worksafe.enterprises.models import Enterprise, Scale
from worksafe.majorhazards import actions
from worksafe.majorhazards.models import Custodian, CustodianCheck, MajorHazard, MajorHazardStatus, Substance

# (unit name, unit kind, [(substance, CAS, Table 2 categories for β, q range in t)])
UNITS = [
    ("液氨储罐区", "storage", [("液氨", "7664-41-7", "", (30, 160))]),
    ("液氯库", "storage", [("液氯", "7782-50-5", "", (10, 80))]),
    ("液化烃罐区", "storage", [("液化石油气", "74-98-6", "W2", (200, 1800))]),
    ("汽油罐区", "storage", [("汽油", "86290-81-5", "W5.1", (600, 6000))]),
    ("甲醇罐区", "storage", [("甲醇", "67-56-1", "W5.3", (600, 4000))]),
    ("苯储罐区", "storage", [("苯", "71-43-2", "W5.3", (60, 500))]),
    ("环氧乙烷装置", "production", [("环氧乙烷", "75-21-8", "", (12, 80))]),
    ("合成氨装置", "production", [("氢", "1333-74-0", "W2", (3, 12)), ("氨", "7664-41-7", "", (8, 40))]),
    ("硫磺回收装置", "production", [("硫化氢", "7783-06-4", "", (6, 20))]),
]
PARKS = ("350505", "350521", "350623", "350181", "3505", "3506", "3501")  # 泉港, 惠安, 漳浦(古雷), 福清(江阴) first
PEOPLE = (0, 20, 45, 80, 160, 600)


def _custodians(rng, hazard, today):
    names = ("林", "陈", "黄", "郑", "吴", "王")
    rows = []
    for role, title, appointed in (("principal", "总经理", 900), ("technical", "总工程师", 700),
                                   ("operational", "罐区主任", 400)):
        rows.append(Custodian(hazard=hazard, role=role, name=rng.choice(names) + rng.choice("建国志强海峰明华文斌"),
                              position=title, phone=f"139{rng.randrange(10**8):08d}",
                              appointed_on=today - datetime.timedelta(days=appointed)))
    return rows


def build_demo(stdout=None, seed: int = 2017, per_city: int = 14) -> int:
    """Create the sources; returns how many were created (0 when the demo already has them)."""
    if MajorHazard.objects.exists():
        return 0
    rng = random.Random(f"{seed}/majorhazards")
    today = timezone.localdate()
    assessor = User.objects.filter(username="chem_admin").first() or User.objects.order_by("id").first()
    if assessor is None:
        return 0
    candidates = []
    for prefix in PARKS:
        qs = (Enterprise.objects.filter(prefix_q("county__code", prefix), key_class="hazchem")
              .order_by("scale", "-employees", "id"))  # "above" (规模以上) sorts first
        for ent in qs[:per_city]:
            if ent not in candidates:
                candidates.append(ent)
    created = 0
    with transaction.atomic():
        for index, ent in enumerate(candidates):
            units = rng.sample(UNITS, k=3 if ent.scale == Scale.ABOVE and index % 2 == 0 else rng.randint(1, 2))
            for number, (name, kind, substances) in enumerate(units, start=1):
                report = today - datetime.timedelta(days=rng.randint(60, 1300))  # some past the 3 years
                filed = report + datetime.timedelta(days=rng.randint(3, 25)) if rng.random() < 0.85 else None
                hazard = MajorHazard.objects.create(
                    enterprise=ent, code=f"MH-{number:02d}", name=name, unit_kind=kind,
                    location=f"{'东西南北'[number % 4]}区{rng.randint(1, 9)}号",
                    lng=ent.lng + Decimal(rng.randint(-9, 9)) / 10000 if ent.lng is not None else None,
                    lat=ent.lat + Decimal(rng.randint(-9, 9)) / 10000 if ent.lat is not None else None,
                    people_within_500m=rng.choice(PEOPLE), evaluation_report_on=report,
                    filed_on=filed if filed and filed <= today else None,
                    status=MajorHazardStatus.REGISTERED if filed and filed <= today else MajorHazardStatus.DRAFT,
                )
                for substance, cas, categories, (low, high) in substances:
                    Substance.objects.create(hazard=hazard, name=substance, cas=cas, categories=categories,
                                             q=Decimal(rng.randint(low, high)))
                actions.assess(hazard, by=assessor, reason="演示数据 demo", on=report)
                custodians = Custodian.objects.bulk_create(_custodians(rng, hazard, today))
                for custodian in custodians[1:]:
                    # technical: quarterly; operational: weekly — some fall behind so the overdue list shows them
                    step = 80 if custodian.role == "technical" else 6
                    lag = rng.choice((0, 0, 0, 30 if custodian.role == "operational" else 120))
                    day = today - datetime.timedelta(days=lag)
                    checks = []
                    for _ in range(4):
                        checks.append(CustodianCheck(custodian=custodian, checked_on=day,
                                                     findings="现场检查正常，监测数据在线。"))
                        day -= datetime.timedelta(days=step)
                    CustodianCheck.objects.bulk_create(checks)
                created += 1
    if stdout is not None:
        stdout.write(f"Created {created} major hazard sources at {len(candidates)} chemical enterprises.\n")
    return created
