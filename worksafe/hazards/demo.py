"""Demo hazards: a year of the closed loop at ~60 demo enterprises, 挂牌督办 with escalation, and the
enterprises' quarterly / annual statistics reports.

Deterministic given the seed and today's date (every date is relative to `timezone.localdate()`), and
idempotent: nothing is created when any hazard statistics report exists.

The rows are written in bulk with their full history, the way the workflow would have left them:
each hazard gets its timeline (TransitionLog: report → assign → rectify [→ reject → rectify] → verify,
and "list" for 挂牌督办) with the dates and people of each step, its status matches the last step, and a
closed hazard has `closed_on`. Reports carry the figures computed from those records (reports.py).
Enterprises without accounts get a staff and a head account without a password (nobody logs in as them).
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from worksafe.core import roles as R
from worksafe.core.choices import OrganisationKind
from worksafe.core.models import Organisation, TransitionLog, User
from worksafe.core.scoping import prefix_q
from worksafe.enterprises.models import Enterprise, EnterpriseStatus
from worksafe.hazards import reports, rules
from worksafe.hazards.choices import HazardLevel, HazardSource, HazardStatus, ListingStatus
from worksafe.hazards.models import Hazard, HazardReport, Listing, ReportKind

ENTERPRISES = 60
CHEM_ENTERPRISE = "福建泉港恒信石化有限公司"  # the enterprise of the demo accounts chem_admin / chem_staff
CHEM_COUNTY = "350505"  # 泉港区: its bureau has the demo account county_admin
XIAMEN = "3502"  # the city of the demo account xm_admin: overdue county listings escalate to it
QUANZHOU = "3505"

# Realistic hazards per key-industry class: (title, location, measure)
TITLES = {
    "hazchem": [
        ("可燃气体报警器失效", "甲醇罐区", "更换报警器探头并与DCS联调"),
        ("储罐区防火堤破损", "汽油罐区", "修补防火堤并做闭水试验"),
        ("静电接地线断开", "装卸栈台", "恢复静电接地并检测电阻"),
        ("安全阀未按期校验", "反应釜区", "送检安全阀并更换备用阀"),
        ("液位计显示失灵", "液碱储罐", "维修液位计，增设高液位报警"),
        ("危化品仓库超量储存", "甲类仓库", "清理超量物料，按核定量储存"),
        ("动火作业票证不全", "检修现场", "停止作业，补办动火证并培训监护人"),
        ("紧急切断阀未投用", "液化烃罐区", "恢复紧急切断阀自动状态"),
        ("消防喷淋系统故障", "罐区", "维修喷淋管网并试喷"),
    ],
    "noncoal_mine": [
        ("采场边坡浮石未清理", "露天采场", "清理浮石并设置警戒"),
        ("排土场截排水沟堵塞", "排土场", "疏通截排水沟"),
        ("爆破器材库防雷检测过期", "爆破器材库", "委托检测防雷设施"),
        ("矿用自卸车制动失效", "运输道路", "停用车辆并维修制动系统"),
    ],
    "coal_mine": [
        ("瓦斯监测探头未校准", "回采工作面", "校准探头并记录"),
        ("巷道支护变形", "运输巷", "补打锚杆，加强支护"),
        ("局部通风机无备用电源", "掘进工作面", "增设备用电源并试验切换"),
    ],
    "fireworks": [
        ("药物中转库超量存放", "中转库", "清理超量药物"),
        ("工房防静电地面破损", "装药工房", "修复防静电地面"),
        ("中转库温湿度计缺失", "中转库", "配备温湿度计并记录"),
    ],
    "metallurgy": [
        ("煤气区域未设置一氧化碳报警器", "煤气加压站", "安装固定式一氧化碳报警器"),
        ("熔炼炉冷却水压力低报警失效", "熔炼车间", "维修压力报警装置"),
        ("吊运熔融金属起重机未使用冶金专用", "浇注区", "更换冶金起重机"),
        ("炉前作业区积水", "炉前平台", "清除积水并修复排水"),
    ],
    "dust": [
        ("粉尘除尘系统未定期清理", "抛光车间", "清理除尘管道并建立清灰记录"),
        ("除尘器未设置泄爆装置", "除尘器", "加装泄爆片"),
        ("打磨工位粉尘堆积", "打磨车间", "清扫积尘，落实每班清扫"),
        ("除尘区域电气设备非防爆型", "除尘器周边", "更换防爆电气设备"),
    ],
    "ammonia": [
        ("氨制冷机房氨气报警器失效", "制冷机房", "更换报警器并联锁排风"),
        ("液氨管道阀门泄漏", "冷库穿堂", "更换阀门并检漏"),
        ("速冻车间未设置紧急泄氨装置", "速冻车间", "加装紧急泄氨装置"),
    ],
    "confined_space": [
        ("有限空间作业未审批", "污水处理站", "停止作业，补办审批并培训"),
        ("污水池未设置警示标识", "污水池", "设置有限空间警示标识"),
        ("有限空间作业前未检测气体", "发酵罐", "配备气体检测仪并先检测后作业"),
        ("缺少有限空间应急救援器材", "厂区", "配备呼吸器、三脚架等器材"),
    ],
    "trade_other": [
        ("消防通道堵塞", "成品仓库", "清理通道堆放物"),
        ("配电箱未接地", "一号车间", "加装接地线并检测"),
        ("安全出口指示灯损坏", "二号车间", "更换应急指示灯"),
        ("砂轮机防护罩缺失", "机修间", "加装防护罩"),
        ("叉车司机无证驾驶", "仓库", "停止作业，安排持证人员"),
        ("车间电线私拉乱接", "包装车间", "拆除临时线路，规范布线"),
        ("灭火器压力不足", "办公楼", "更换灭火器"),
        ("冲床光电保护装置失效", "冲压车间", "维修光电保护装置"),
    ],
    "construction": [
        ("脚手架连墙件缺失", "3号楼外架", "按方案补设连墙件"),
        ("临边防护栏杆缺失", "5层楼面", "设置防护栏杆和挡脚板"),
        ("塔吊限位装置失效", "1号塔吊", "维修限位并经检测"),
        ("基坑边堆载超限", "基坑北侧", "清除堆载"),
        ("施工升降机门联锁失效", "施工升降机", "修复门联锁"),
        ("安全网破损未更换", "外架", "更换安全网"),
        ("高处作业未系安全带", "屋面", "停止作业并教育"),
    ],
    "road_transport": [
        ("车辆动态监控离线", "调度中心", "维修车载终端"),
        ("危货车辆紧急切断装置失效", "停车场", "维修紧急切断装置"),
        ("驾驶员超时驾驶", "调度中心", "调整排班，教育驾驶员"),
        ("车辆轮胎磨损超限", "停车场", "更换轮胎"),
    ],
    "water_transport": [("救生衣配备不足", "客船", "补齐救生衣"), ("船舶消防泵故障", "机舱", "维修消防泵")],
    "fishery": [("渔船救生筏过期", "渔船", "检修或更换救生筏"), ("渔船AIS设备未开启", "渔船", "开启并保持AIS在线")],
    "explosives": [("危险品库房防雷设施损坏", "成品库", "修复防雷设施"), ("生产线安全联锁失效", "装药线", "修复联锁")],
    "special_equipment": [
        ("压力容器未定期检验", "空压站", "委托检验"),
        ("电梯安全钳失效", "货梯", "维修并经检验"),
        ("起重机钢丝绳断丝超标", "行车", "更换钢丝绳"),
    ],
    "gas": [
        ("燃气管道腐蚀", "中压管线", "防腐处理并检测壁厚"),
        ("调压站可燃气体报警器失效", "调压站", "更换报警器"),
        ("用户燃气软管老化", "餐饮用户", "更换金属波纹管"),
    ],
    "crowded_place": [
        ("疏散通道堵塞", "商场二层", "清理通道"),
        ("应急照明损坏", "地下车库", "更换应急照明"),
        ("消防控制室无人值守", "消防控制室", "落实双人值班"),
        ("常闭防火门处于常开状态", "楼梯间", "恢复常闭并加装闭门器"),
    ],
}
GENERAL_TITLES = TITLES["trade_other"]

# Major hazards (重大事故隐患) with the three parts of the report: (title, state and causes, harm, plan)
MAJOR = {
    "hazchem": [
        ("液化烃储罐区紧急切断阀未投用", "罐区紧急切断阀执行机构故障后长期处于手动状态，维保不到位。",
         "一旦泄漏无法及时切断，可能引发火灾爆炸；需停用罐区检修，整改难度较大。",
         "停用相关储罐，更换执行机构，完成紧急切断系统联调，经专家验收后恢复使用。"),
        ("重点监管危险化工工艺装置未实现自动化控制", "氯化反应装置仍以人工操作为主，未设置紧急停车系统。",
         "反应失控可能导致爆炸和中毒，需停产改造，涉及设计变更。",
         "委托有资质单位设计自动化控制和紧急停车系统，停产改造，试运行合格后复产。"),
    ],
    "metallurgy": [("煤气柜区域未设置一氧化碳检测报警装置", "新建煤气柜未同步安装报警装置。",
                    "煤气泄漏无法及时发现，可能导致中毒窒息；需停气施工。",
                    "停气后安装固定式报警装置并联锁，验收后恢复供气。")],
    "dust": [("铝镁粉尘除尘系统未采取防爆措施", "湿式除尘改为干式后未设防爆泄爆和隔爆装置。",
              "粉尘爆炸可能造成群死群伤；需停产改造。",
              "停用干式除尘，恢复湿式除尘或加装泄爆隔爆装置，经评估后复产。")],
    "construction": [("深基坑支护出现明显变形", "连续降雨后基坑北侧支护桩位移超预警值。",
                      "可能引发基坑坍塌和周边道路塌陷；需停工加固。",
                      "停止基坑作业，回填反压并增设内支撑，加密监测，经专家论证后复工。")],
    "ammonia": [("包装间与氨制冷机房未有效隔离", "车间改造时拆除隔墙，包装间与机房连通。",
                 "氨泄漏将直接威胁包装间内数十名工人；需停产改造。",
                 "恢复防火隔墙，增设氨气报警与事故排风联锁，验收后复产。")],
    "gas": [("燃气调压站安全间距不足", "周边新建建筑使调压站安全间距不符合标准。",
             "发生泄漏爆炸将危及周边居民；需迁改。", "制定迁改方案，设置临时防护，迁建调压站。")],
}
GENERAL_MAJOR = [("主要生产厂房安全出口数量不足", "厂房扩建后未增设安全出口。",
                  "发生火灾时人员疏散困难，可能造成群死群伤；需停用部分区域改造。",
                  "停用扩建区域，增设安全出口和疏散楼梯，经消防验收后恢复使用。")]

PEOPLE = "陈建华 林志明 黄海峰 张文斌 吴国栋 王振华 郑清泉 刘德福 蔡晓东 许明辉".split()
DEADLINE_DAYS = (3, 7, 7, 10, 15, 15, 20, 30, 30, 45)


def _at(day: datetime.date, rng: random.Random, hour: tuple[int, int] = (8, 17)) -> datetime.datetime:
    """An aware datetime on `day` during working hours (Asia/Shanghai)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(rng.randint(*hour), rng.randint(0, 59))))


@dataclass
class _People:
    staff: User
    head: User
    regulator: User | None = None  # the county bureau's officer, for hazards found by inspection


@dataclass
class _Plan:
    """One hazard with its history: field values and the steps of its timeline."""

    hazard: Hazard
    steps: list[tuple] = field(default_factory=list)  # (action, from, to, by, at, comment, data)
    listing: Listing | None = None


def _select(rng: random.Random, count: int) -> list[Enterprise]:
    """The chemical demo enterprise, some in 泉港 and 厦门 (the demo regulators' places), the rest drawn."""
    operating = Enterprise.objects.filter(status=EnterpriseStatus.OPERATING).select_related("organisation")
    chosen: list[Enterprise] = []
    chem = operating.filter(name=CHEM_ENTERPRISE).first()
    if chem:
        chosen.append(chem)
    for qs, n in ((operating.filter(county_id=CHEM_COUNTY), 9), (operating.filter(prefix_q("county__code", XIAMEN)), 14)):
        pool = [e for e in qs.order_by("credit_code") if e not in chosen]
        chosen += rng.sample(pool, min(n, len(pool)))
    rest = [e for e in operating.exclude(pk__in=[e.pk for e in chosen]).order_by("credit_code")]
    chosen += rng.sample(rest, max(0, min(count - len(chosen), len(rest))))
    return chosen


def _accounts(enterprises: list[Enterprise], rng: random.Random) -> dict[int, _People]:
    """Staff and head per enterprise: its existing accounts, else new ones without a usable password."""
    groups = {g.name: g for g in Group.objects.filter(name__in=[R.ENTERPRISE_STAFF, R.ENTERPRISE_HEAD])}
    people: dict[int, _People] = {}
    existing = {}
    for user in User.objects.filter(organisation__enterprise__in=enterprises).prefetch_related("groups"):
        roles = {g.name for g in user.groups.all()}
        slot = existing.setdefault(user.organisation_id, {})
        if R.ENTERPRISE_HEAD in roles:
            slot.setdefault("head", user)
        elif R.ENTERPRISE_STAFF in roles:
            slot.setdefault("staff", user)
    need_org = [e for e in enterprises if e.organisation_id is None]
    orgs = Organisation.objects.bulk_create([Organisation(name=e.name, kind=OrganisationKind.ENTERPRISE,
                                                          jurisdiction_id=e.county_id) for e in need_org])
    for ent, org in zip(need_org, orgs, strict=True):
        ent.organisation = org
    Enterprise.objects.bulk_update(need_org, ["organisation"])
    new_users, memberships = [], []
    for ent in enterprises:
        slot = existing.get(ent.organisation_id, {})
        for key, role, name in (("staff", R.ENTERPRISE_STAFF, ent.safety_manager or rng.choice(PEOPLE)),
                                ("head", R.ENTERPRISE_HEAD, ent.principal or ent.legal_representative)):
            if key not in slot:
                user = User(username=f"ent{ent.pk:05d}_{key}", organisation_id=ent.organisation_id, full_name=name,
                            password=make_password(None), must_change_password=False)
                slot[key] = user
                new_users.append(user)
                memberships.append((user, groups.get(role)))
        existing[ent.organisation_id] = slot
    User.objects.bulk_create(new_users)
    if any(u.pk is None for u in new_users):  # backends that do not return ids from bulk inserts
        ids = dict(User.objects.filter(username__in=[u.username for u in new_users]).values_list("username", "id"))
        for u in new_users:
            u.pk = u.id = ids[u.username]
    User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=g.pk)
                                             for u, g in memberships if g is not None])
    for ent in enterprises:
        slot = existing[ent.organisation_id]
        people[ent.pk] = _People(staff=slot["staff"], head=slot["head"])
    return people


def _bureau_officer(code: str, cache: dict) -> tuple[Organisation | None, User | None]:
    """The emergency bureau of a jurisdiction and one of its regulator accounts (created without a usable
    password when the bureau has none)."""
    if code in cache:
        return cache[code]
    org = Organisation.objects.filter(kind=OrganisationKind.EMERGENCY, jurisdiction_id=code).order_by("id").first()
    user = None
    if org is not None:
        user = (User.objects.filter(organisation=org, groups__name__in=[R.REGULATOR_STAFF, R.REGULATOR_LEADER])
                .order_by("id").first())
        if user is None:
            user = User.objects.create(username=f"hz_officer_{code}", organisation=org, full_name=f"{org.name}督办员",
                                       password=make_password(None), must_change_password=False)
            user.groups.set(Group.objects.filter(name=R.REGULATOR_STAFF))
    cache[code] = (org, user)
    return cache[code]


class _Builder:
    def __init__(self, rng: random.Random, today: datetime.date):
        self.rng, self.today = rng, today
        self.plans: list[_Plan] = []

    def step(self, plan, action, before, after, by, day, comment="", data=None, hour=(8, 17)):
        at = _at(day, self.rng, hour)
        if plan.steps and at <= plan.steps[-1][4]:  # two steps on one day: keep their order
            at = plan.steps[-1][4] + datetime.timedelta(minutes=self.rng.randint(5, 40))
        plan.steps.append((action, before, after, by, at, comment, data or {}))

    def general(self, ent: Enterprise, who: _People) -> _Plan:
        rng, today = self.rng, self.today
        title, location, measure = rng.choice(TITLES.get(ent.key_class, GENERAL_TITLES))
        found = today - datetime.timedelta(days=rng.randint(0, 364))
        roll = rng.random()
        source = (HazardSource.INSPECTION if roll < 0.12 and who.regulator else
                  HazardSource.TIPOFF if roll < 0.17 else HazardSource.SELF_CHECK)
        reporter = who.regulator if source == HazardSource.INSPECTION else who.staff
        hazard = Hazard(enterprise=ent, title=title, location=location, level=HazardLevel.GENERAL, source=source,
                        found_on=found, found_by=str(reporter), reported_by=reporter,
                        description=f"{location}{title}。", created_at=_at(found, rng))
        plan = _Plan(hazard)
        self.step(plan, "report", HazardStatus.REPORTED, HazardStatus.REPORTED, reporter, found,
                  comment=hazard.description)
        assigned = found + datetime.timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
        if assigned >= today and rng.random() < 0.6:
            return plan  # just reported
        assigned = min(assigned, today)
        deadline = assigned + datetime.timedelta(days=rng.choice(DEADLINE_DAYS))
        hazard.responsible_person = rng.choice(PEOPLE)
        hazard.measures = measure
        hazard.funds = Decimal(rng.choice((0, 200, 500, 800, 1500, 3000, 5000, 12000, 30000)))
        hazard.deadline = deadline
        hazard.status = HazardStatus.RECTIFYING
        self.step(plan, "assign", HazardStatus.REPORTED, HazardStatus.RECTIFYING, who.head, assigned)
        # when the fix is reported: mostly in time, sometimes late, a few stall (they become overdue)
        roll = rng.random()
        span = max(1, (deadline - assigned).days)
        if roll < 0.04:
            return plan
        rectified = (deadline + datetime.timedelta(days=rng.randint(1, 20)) if roll < 0.12
                     else assigned + datetime.timedelta(days=rng.randint(0, span)))
        rejected = rng.random() < 0.06
        for attempt in range(2 if rejected else 1):
            if rectified > today:
                return plan
            hazard.status = HazardStatus.AWAITING_VERIFICATION
            hazard.rectified_by, hazard.rectified_on = who.staff, rectified
            self.step(plan, "rectify", HazardStatus.RECTIFYING, HazardStatus.AWAITING_VERIFICATION, who.staff,
                      rectified, comment=f"已{measure}。", data={"attachment_role": "after"})
            checked = rectified + datetime.timedelta(days=rng.choice((0, 1, 1, 2, 3, 5)))
            if checked > today:
                return plan
            if rejected and attempt == 0:
                hazard.status = HazardStatus.RECTIFYING
                self.step(plan, "reject", HazardStatus.AWAITING_VERIFICATION, HazardStatus.RECTIFYING, who.head,
                          checked, comment="整改不彻底，请补充整改后的照片和检测记录。")
                rectified = checked + datetime.timedelta(days=rng.randint(2, 7))
                continue
            hazard.status, hazard.verified_by, hazard.closed_on = HazardStatus.CLOSED, who.head, checked
            self.step(plan, "verify", HazardStatus.AWAITING_VERIFICATION, HazardStatus.CLOSED, who.head, checked,
                      comment="复核合格，同意销号。", data={"attachment_role": "verification"})
        return plan

    def major(self, ent: Enterprise, who: _People, kind: str, bureau: tuple | None, number: int) -> _Plan:
        """A major hazard reported at once to the regulator; `kind`: overdue / listed / lifted / unlisted."""
        rng, today = self.rng, self.today
        title, causes, harm, plan_text = rng.choice(MAJOR.get(ent.key_class, GENERAL_MAJOR))
        back = {"overdue": (150, 260), "listed": (30, 80), "lifted": (220, 330), "unlisted": (3, 12)}[kind]
        found = today - datetime.timedelta(days=rng.randint(*back))
        hazard = Hazard(enterprise=ent, title=title, location="生产区", level=HazardLevel.MAJOR,
                        source=HazardSource.SELF_CHECK, found_on=found, found_by=str(who.staff), reported_by=who.staff,
                        description=causes, status_and_causes=causes, harm_and_difficulty=harm,
                        treatment_plan=plan_text, workers_congress_record=f"{found + datetime.timedelta(days=1)} 向职工代表通报。",
                        reported_to_regulator_at=_at(found, rng), created_at=_at(found, rng))
        plan = _Plan(hazard)
        self.step(plan, "report", HazardStatus.REPORTED, HazardStatus.REPORTED, who.staff, found, comment=causes)
        assigned = found + datetime.timedelta(days=rng.randint(1, 3))
        if kind == "unlisted" and assigned > today:
            return plan
        listed_on = found + datetime.timedelta(days=rng.randint(4, 10))
        deadline = {"overdue": today - datetime.timedelta(days=rng.randint(5, 45)),
                    "listed": today + datetime.timedelta(days=rng.randint(20, 90)),
                    "lifted": listed_on + datetime.timedelta(days=rng.randint(60, 120)),
                    "unlisted": assigned + datetime.timedelta(days=90)}[kind]
        hazard.responsible_person, hazard.measures = ent.principal or ent.legal_representative, plan_text
        hazard.funds = Decimal(rng.choice((80000, 150000, 300000, 600000, 1200000)))
        hazard.deadline, hazard.status = deadline, HazardStatus.RECTIFYING
        self.step(plan, "assign", HazardStatus.REPORTED, HazardStatus.RECTIFYING, who.head, assigned)
        if kind == "unlisted" or bureau is None or bureau[1] is None:
            return plan
        org, officer = bureau
        notice = f"{org.name[:-5] if org.name.endswith('应急管理局') else org.name}安督〔{listed_on.year}〕{number}号"
        plan.listing = Listing(listed_by=org, notice_number=notice, supervising_office=f"{org.name}安委办",
                               requirements="按治理方案限期整改，整改期间落实监控措施，每月报告进展。",
                               deadline=deadline, listed_on=listed_on)
        self.step(plan, "list", HazardStatus.RECTIFYING, HazardStatus.RECTIFYING, officer, listed_on,
                  comment=plan.listing.requirements,
                  data={"notice_number": notice, "deadline": deadline.isoformat(), "authority": org.name})
        plan.steps.sort(key=lambda s: s[4])
        if kind == "lifted":
            rectified = deadline - datetime.timedelta(days=rng.randint(10, 30))
            verified = rectified + datetime.timedelta(days=rng.randint(2, 6))
            hazard.rectified_by, hazard.rectified_on = who.staff, rectified
            self.step(plan, "rectify", HazardStatus.RECTIFYING, HazardStatus.AWAITING_VERIFICATION, who.staff,
                      rectified, comment="已按治理方案完成整改，申请核查销号。", data={"attachment_role": "after"})
            hazard.status, hazard.verified_by, hazard.closed_on = HazardStatus.CLOSED, officer, verified
            self.step(plan, "verify", HazardStatus.AWAITING_VERIFICATION, HazardStatus.CLOSED, officer, verified,
                      comment="现场核查合格，同意摘牌销号。", data={"attachment_role": "verification"})
            plan.listing.status, plan.listing.lifted_on = ListingStatus.LIFTED, verified
            plan.listing.site_verification = "现场核查合格，同意摘牌销号。"
        return plan


def _codes(plans: list[_Plan]) -> None:
    """YH-<year>-<n> per enterprise in order of discovery, after any numbers already used."""
    used: dict[tuple[int, int], int] = {}
    for ent_id, code in Hazard.objects.filter(enterprise_id__in={p.hazard.enterprise_id for p in plans},
                                              code__startswith="YH-").values_list("enterprise_id", "code"):
        key = (ent_id, int(code[3:7]))
        used[key] = used.get(key, 0) + 1
    for plan in sorted(plans, key=lambda p: (p.hazard.enterprise_id, p.hazard.found_on, p.steps[0][4])):
        key = (plan.hazard.enterprise_id, plan.hazard.found_on.year)
        used[key] = used.get(key, 0) + 1
        plan.hazard.code = f"YH-{key[1]}-{used[key]:04d}"


def _write(plans: list[_Plan]) -> None:
    hazards = Hazard.objects.bulk_create([p.hazard for p in plans], batch_size=500)
    if any(h.pk is None for h in hazards):
        ids = {(e, c): i for e, c, i in Hazard.objects.filter(
            enterprise_id__in={h.enterprise_id for h in hazards}).values_list("enterprise_id", "code", "id")}
        for h in hazards:
            h.pk = h.id = ids[(h.enterprise_id, h.code)]
    listings = []
    for plan in plans:
        if plan.listing is not None:
            plan.listing.hazard = plan.hazard
            listings.append(plan.listing)
    Listing.objects.bulk_create(listings)
    content_type = ContentType.objects.get_for_model(Hazard)
    TransitionLog.objects.bulk_create([
        TransitionLog(content_type=content_type, object_id=str(p.hazard.pk), action=action, from_state=before,
                      to_state=after, by=by, at=at, comment=comment, data=data)
        for p in plans for action, before, after, by, at, comment, data in sorted(p.steps, key=lambda s: s[4])],
        batch_size=1000)


def _periods(today: datetime.date) -> list[tuple[str, int, int | None]]:
    """Quarters ended within the last 12 months, and last year's annual report."""
    periods = []
    year, quarter = reports.last_ended_quarter(today)
    for _ in range(4):
        periods.append((ReportKind.QUARTER.value, year, quarter))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    periods.append((ReportKind.ANNUAL.value, today.year - 1, None))
    return periods


def _reports(enterprises, people, rng: random.Random, today: datetime.date) -> list[HazardReport]:
    """Submitted reports: most on time, some late, some missing; drafts for a few not yet due."""
    rows = []
    for ent in enterprises:
        head = people[ent.pk].head
        for kind, year, quarter in _periods(today):
            _start, end = reports.period_bounds(kind, year, quarter)
            due = reports.due_date(kind, year, quarter)
            roll = rng.random()
            if due < today:
                if roll < 0.08:
                    continue  # never submitted: on the regulator's "not submitted" list, late
                if roll < 0.2:
                    submitted = due + datetime.timedelta(days=rng.randint(1, min(25, (today - due).days)))
                else:
                    submitted = end + datetime.timedelta(days=rng.randint(1, (due - end).days))
            elif (today - end).days > 1 and roll < 0.5:
                submitted = end + datetime.timedelta(days=rng.randint(1, (today - end).days - 1))
            elif roll < 0.7:
                submitted = None  # a draft being prepared
            else:
                continue
            figures = reports.compute_figures(ent, kind, year, quarter)
            report = HazardReport(enterprise=ent, kind=kind, year=year, quarter=quarter, figures=figures,
                                  due_on=due, created_at=_at(end + datetime.timedelta(days=1), rng))
            if submitted is not None:
                report.submitted_at = _at(submitted, rng)
                report.submitted_by = head
                report.signed_by_name = ent.principal or ent.legal_representative
                report.analysis = reports.draft_analysis(figures) + "\n" + rng.choice((
                    "下一阶段将加强日常巡查和班组自查，落实隐患整改“五到位”。",
                    "主要问题集中在设备设施维护和作业审批环节，已组织专题培训。",
                    "重大隐患按治理方案推进，主要负责人每月督导一次。"))
                report.late = rules.is_late(submitted, due)
            rows.append(report)
    return HazardReport.objects.bulk_create(rows, batch_size=500)


def build_demo(stdout=None, seed: int = 2017, enterprises: int = ENTERPRISES) -> int:
    """Create the demo hazards, listings and reports; returns how many hazards were created (0 when present)."""
    if HazardReport.objects.exists() or not Enterprise.objects.exists():
        return 0
    rng = random.Random(f"{seed}/hazards")
    today = timezone.localdate()
    with transaction.atomic():
        chosen = _select(rng, enterprises)
        people = _accounts(chosen, rng)
        bureaus: dict = {}
        for ent in chosen:
            _org, officer = _bureau_officer(ent.county_id, bureaus) if ent.county_id == CHEM_COUNTY or \
                ent.county_id.startswith(XIAMEN) else (None, None)
            people[ent.pk].regulator = officer
        builder = _Builder(rng, today)
        for ent in chosen:
            n = max(4, min(24, round(ent.employees ** 0.5 * rng.uniform(0.8, 1.4))))
            builder.plans += [builder.general(ent, people[ent.pk]) for _ in range(n)]
        # 挂牌督办: county bureaus in 泉港 and 厦门 (overdue ones escalate to the city), 泉州市 itself (to the
        # province); one lifted, one within its deadline, one major hazard not yet listed.
        schedule = [
            (CHEM_COUNTY, "overdue"), (CHEM_COUNTY, "listed"), (CHEM_COUNTY, "lifted"),
            ("xiamen", "overdue"), ("xiamen", "overdue"), ("xiamen", "listed"), ("xiamen", "lifted"),
            (QUANZHOU, "overdue"), (QUANZHOU, "listed"), (None, "unlisted"), (None, "unlisted"),
        ]
        in_county = [e for e in chosen if e.county_id == CHEM_COUNTY]
        in_xiamen = [e for e in chosen if e.county_id.startswith(XIAMEN)]
        in_quanzhou = [e for e in chosen if e.county_id.startswith(QUANZHOU)]
        for number, (where, kind) in enumerate(schedule, start=1):
            pool = {CHEM_COUNTY: in_county, "xiamen": in_xiamen, QUANZHOU: in_quanzhou}.get(where, chosen)
            if not pool:
                continue
            ent = pool[(number - 1) % len(pool)]
            bureau = None
            if where == QUANZHOU:
                bureau = _bureau_officer(QUANZHOU, bureaus)
            elif where is not None:
                bureau = _bureau_officer(ent.county_id, bureaus)
            builder.plans.append(builder.major(ent, people[ent.pk], kind, bureau, number))
        _codes(builder.plans)
        _write(builder.plans)
        created = _reports(chosen, people, rng, today)
    if stdout is not None:
        listed = sum(1 for p in builder.plans if p.listing is not None)
        stdout.write(f"Created {len(builder.plans)} hazards ({listed} listed for supervision) at {len(chosen)} "
                     f"enterprises, and {len(created)} hazard statistics reports.\n")
    return len(builder.plans)
