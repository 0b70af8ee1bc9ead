"""Demo hazard checks: plans at the largest demo enterprises, a year of tasks and check records with photos,
some failures turned into hazards (the older ones closed), and a few enterprises that tick checks without doing
them, so that the formalism flags have something real to show.

Deterministic (seeded; dates relative to today) and idempotent: nothing is created when any plan exists.
Fictitious data: people and notes are composed from common words.
"""

from __future__ import annotations

import datetime
import io
import random
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from worksafe.checks import actions, formalism
from worksafe.checks.choices import Outcome, TaskStatus
from worksafe.checks.models import Checklist, ChecklistItem, CheckPlan, CheckRecord, CheckResult, CheckTask
from worksafe.core import roles as R
from worksafe.core.choices import KeyIndustry as K
from worksafe.core.choices import OrganisationKind
from worksafe.core.models import Organisation, TransitionLog, User
from worksafe.core.scoping import prefix_q
from worksafe.core.testing import make_user
from worksafe.core.workflow import attach
from worksafe.enterprises.models import Enterprise, EnterpriseStatus

CHEM_ENTERPRISE = "福建泉港恒信石化有限公司"  # its demo accounts chem_staff / chem_admin do the checks there
FORMALIST_SHARE = 0.1  # enterprises that tick checks without doing them
ROUTINE = "已检查，符合要求，未见异常"  # the note a formalist pastes on every item

# (item, what a checker writes when it fails); the post lists by key-industry class.
TANK_FARM = [
    ("储罐液位、温度、压力在工艺控制指标内", "T-102液位超过高报警值，已通知中控室降量"),
    ("呼吸阀、阻火器完好，无堵塞锈蚀", "3号罐呼吸阀锈蚀卡涩，需拆检更换"),
    ("可燃、有毒气体检测报警器投用正常", "东侧2号可燃气体探头无读数，疑似故障"),
    ("防火堤完好，雨水排放阀处于关闭状态", "防火堤排水阀处于开启状态，未上锁"),
    ("静电接地、防雷设施完好，连接可靠", "装车鹤位静电接地夹断裂"),
    ("消防喷淋、泡沫系统完好，消防水池水位正常", "泡沫站压力表损坏，无法读数"),
    ("罐区无跑冒滴漏，无油气异味", "4号罐进料阀法兰处渗漏"),
]
WORKSHOP = [
    ("设备运行平稳，无异常声响和振动", "2号风机轴承异响，温度偏高"),
    ("转动部位防护罩齐全完好", "皮带机尾部防护罩缺失"),
    ("急停按钮、联锁装置有效", "冲床光电保护装置失效"),
    ("配电箱门关闭，接地可靠，无私拉乱接", "车间东侧临时线路私拉，未穿管保护"),
    ("作业人员正确佩戴劳动防护用品", "打磨岗位两名员工未戴防护眼镜"),
    ("安全通道、疏散出口畅通，标志清晰", "成品堆放占用东侧安全通道"),
    ("灭火器、消火栓完好，在检验有效期内", "2具灭火器压力不足"),
]
DUST = [
    ("除尘系统运行正常，风管无积尘", "3号除尘器灰斗积灰未及时清理"),
    ("作业现场地面、设备表面无积尘", "抛光区设备顶部积尘较厚"),
    ("除尘器泄爆装置完好，朝向安全区域", "泄爆片朝向人员通道"),
    ("粉尘区域电气设备防爆完好", "除尘间照明灯具非防爆型"),
    ("清扫制度落实，有清扫记录", "本周清扫记录缺失"),
    ("作业人员佩戴防尘口罩", "两名员工未佩戴防尘口罩"),
]
SITE = [
    ("脚手架搭设规范，验收挂牌", "3号楼外架连墙件缺失两处"),
    ("临边、洞口防护到位", "5层电梯井口防护门未关闭"),
    ("塔吊限位、保险装置有效", "1号塔吊高度限位器失灵"),
    ("施工用电一机一闸一漏保", "钢筋加工棚开关箱漏电保护器失效"),
    ("作业人员佩戴安全帽、系安全带", "外架作业人员未系安全带"),
    ("基坑支护稳定，无异常变形", "基坑北侧监测点位移接近预警值"),
]
GENERAL = [
    ("全员安全生产责任制落实到岗位", "新入职人员岗位责任清单未签订"),
    ("特种作业人员持证上岗，证件在有效期内", "电工李某特种作业证已过期"),
    ("消防设施器材完好，定期检查有记录", "消火栓箱内水带缺失"),
    ("动火、受限空间等特殊作业审批手续齐全", "维修班动火作业票未经审批"),
    ("安全警示标志设置规范、清晰", "配电房门口无警示标志"),
    ("应急预案按计划演练，应急物资齐全", "应急物资柜内正压式呼吸器气瓶压力不足"),
    ("隐患排查治理台账完整，整改闭环", "上月两项隐患无整改验收记录"),
    ("安全教育培训按计划开展，有记录", "三季度班组安全活动记录缺失"),
    ("劳动防护用品按标准配备发放", "防护手套发放记录不全"),
    ("安全投入按规定提取使用", "安全费用台账未按月登记"),
]
POST_ITEMS = {K.HAZCHEM: TANK_FARM, K.AMMONIA: TANK_FARM, K.GAS: TANK_FARM, K.DUST: DUST, K.CONSTRUCTION: SITE}
POST_NAMES = {id(TANK_FARM): ("罐区巡回检查表", "罐区操作工", "罐区"), id(WORKSHOP): ("车间岗位检查表", "班组长", "生产车间"),
              id(DUST): ("粉尘涉爆作业检查表", "除尘岗位", "打磨抛光车间"), id(SITE): ("施工现场日常检查表", "安全员", "施工现场")}
PEOPLE = "陈林黄张吴王郑刘蔡许"
GIVEN = ["建华", "志明", "海燕", "丽娟", "文斌", "国强", "秀英", "晓东", "春生", "美玲"]


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _photo(rng: random.Random, name: str) -> bytes:
    """A small picture with a random 8×8 structure (each one's perceptual hash is its own)."""
    grid = Image.new("L", (8, 8))
    grid.putdata([rng.randrange(256) for _ in range(64)])
    img = grid.resize((64, 64), Image.NEAREST).convert("RGB")
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def _people(ent: Enterprise, rng: random.Random) -> tuple[User, User]:
    """(staff, head) who do the enterprise's checks; the named demo enterprise uses its demo accounts."""
    if ent.name == CHEM_ENTERPRISE:
        staff = User.objects.filter(username="chem_staff").first()
        head = User.objects.filter(username="chem_admin").first()
        if staff and head:
            return staff, head
    org = ent.organisation
    if org is None:
        org = Organisation.objects.create(name=ent.name, kind=OrganisationKind.ENTERPRISE,
                                          jurisdiction_id=ent.county_id)
        Enterprise.objects.filter(pk=ent.pk).update(organisation=org)
        ent.organisation = org
    users = []
    for suffix, role in (("a", R.ENTERPRISE_STAFF), ("b", R.ENTERPRISE_HEAD)):
        username = f"ck{ent.credit_code.lower()}{suffix}"
        user = User.objects.filter(username=username).first() or make_user(
            username, org, [role], full_name=rng.choice(PEOPLE) + rng.choice(GIVEN))
        users.append(user)
    return users[0], users[1]


def _checklist(ent: Enterprise, title: str, items: list[tuple[str, str]]) -> Checklist:
    checklist = Checklist.objects.create(enterprise=ent, name=title, key_class=ent.key_class, basis="企业隐患排查治理制度")
    ChecklistItem.objects.bulk_create([ChecklistItem(checklist=checklist, number=n, text=text)
                                       for n, (text, _fail) in enumerate(items, start=1)])
    return checklist


class _Builder:
    """Records for one enterprise's tasks; remembers its photos so that a formalist can hand one in again."""

    def __init__(self, rng, ent, staff, head, formalist: bool, today):
        self.rng, self.ent, self.staff, self.head, self.formalist, self.today = rng, ent, staff, head, formalist, today
        self.photos: list[bytes] = []
        self.previous_notes: dict[int, tuple[str, dict[int, str]]] = {}  # plan id → (record notes, item notes)
        self.fail_notes: dict[int, str] = {}  # item id → what is written when it fails

    def record(self, task: CheckTask, items: list[ChecklistItem]):
        """(CheckRecord, [(item, outcome, note)], {item number: [photo bytes]}) for a task done, or None."""
        rng, plan = self.rng, task.plan
        if rng.random() > (0.7 if self.formalist else 0.94):
            return None  # missed
        cheat = self.formalist and rng.random() < 0.45 or rng.random() < 0.015
        kind = rng.choice(["fast", "photo", "text", "far"]) if cheat else None
        span = (task.due_on - task.period_start).days
        day = task.period_start + datetime.timedelta(days=rng.randint(max(0, span - 2), span))
        at = datetime.time(rng.randint(8, 15), rng.randrange(60))
        start = timezone.make_aware(datetime.datetime.combine(day, at))
        seconds = len(items) * (rng.uniform(0.8, 3.0) if kind == "fast" else rng.uniform(25, 90))
        finished = start + datetime.timedelta(seconds=round(seconds))
        lng = lat = accuracy = None
        if self.ent.lng is not None and rng.random() < 0.92:
            far = kind == "far"
            spread = rng.uniform(0.03, 0.2) if far else 0.002
            north = spread if far else rng.uniform(-spread, spread)  # far: at least `spread` degrees north
            lng = self.ent.lng + Decimal(f"{rng.uniform(-spread, spread):.6f}")
            lat = self.ent.lat + Decimal(f"{north:.6f}")
            accuracy = round(rng.uniform(4, 35))
        results, photos = [], {}
        fail_p = 0.002 if plan.checklist.is_builtin else (0.012 if self.formalist else 0.03)
        for item in items:
            outcome = Outcome.PASS
            if rng.random() < fail_p:
                outcome = Outcome.FAIL
            elif plan.checklist.is_builtin and rng.random() < 0.15:
                outcome = Outcome.NA
            note = ""
            if outcome == Outcome.FAIL:  # what was found, when: the same defect is not noted twice alike
                note = self.fail_notes.get(item.pk, "经现场核查存在该情形") + f"（{rng.randint(8, 17)}:{rng.randrange(60):02d}发现）"
            if outcome == Outcome.FAIL or (plan.frequency == "monthly" and rng.random() < 0.08):
                photos.setdefault(item.number, []).append(_photo(rng, f"{plan.pk}-{item.number}"))
            results.append([item, outcome, note])
        notes = ""
        if plan.frequency != "daily":
            notes = (f"{day.month}月{day.day}日{plan.place or '现场'}检查：共{len(items)}项，"
                     f"{rng.choice(['重点查看', '抽查了', '复查了'])}{rng.choice(items).text[:8]}，"
                     f"现场{rng.randint(2, 9)}名作业人员在岗，温度{rng.randint(12, 35)}℃。")
        if kind == "text":
            previous = self.previous_notes.get(plan.pk)
            if previous and previous[0] and rng.random() < 0.5:
                notes = previous[0]
                for r in results:
                    r[2] = previous[1].get(r[0].number, r[2]) if r[1] != Outcome.FAIL else r[2]
            else:
                for r in results:
                    if r[1] == Outcome.PASS:
                        r[2] = ROUTINE
        if kind == "photo" and self.photos:
            target = rng.choice(results)[0].number
            photos.setdefault(target, []).append(rng.choice(self.photos))
        self.previous_notes[plan.pk] = (notes, {r[0].number: r[2] for r in results})
        self.photos.extend(p for batch in photos.values() for p in batch)
        self.photos = self.photos[-30:]
        checker = self.head if plan.frequency == "monthly" else (task.assignee or self.staff)
        record = CheckRecord(
            task=task, enterprise=self.ent, checklist=plan.checklist, checked_by=checker, place=plan.place,
            started_at=start, finished_at=finished, lng=lng, lat=lat, accuracy_m=accuracy, notes=notes,
            item_count=len(results), failed_count=sum(r[1] == Outcome.FAIL for r in results),
            created_at=finished + datetime.timedelta(seconds=rng.randint(1, 40)))
        return record, results, photos


def build_demo(stdout=None, seed: int = 2017, enterprises: int = 40, days: int = 365) -> int:
    """Create the demo checks once; returns how many check records were created (0 when plans exist)."""
    if CheckPlan.objects.exists():
        return 0
    rng = random.Random(f"{seed}/checks")
    today = timezone.localdate()
    since = today - datetime.timedelta(days=days)
    candidates = _candidates(enterprises)
    if not candidates:
        return 0
    chem = candidates[0] if candidates[0].name == CHEM_ENTERPRISE else None
    builtin = Checklist.objects.filter(builtin_key="hazchem-major-2017").first()
    created = 0
    with transaction.atomic():
        _say(stdout, f"Creating check plans at {len(candidates)} enterprises…")
        builders, item_lists = {}, {}
        daily_left = max(1, len(candidates) // 6)
        for index, ent in enumerate(candidates):
            staff, head = _people(ent, rng)
            formalist = index > 0 and rng.random() < FORMALIST_SHARE
            builder = builders[ent.pk] = _Builder(rng, ent, staff, head, formalist, today)
            post = POST_ITEMS.get(ent.key_class, WORKSHOP)
            title, post_name, place = POST_NAMES[id(post)]
            post_list = _checklist(ent, title, post)
            monthly_list = builtin if ent.key_class == K.HAZCHEM and builtin else _checklist(
                ent, "月度综合安全检查表", GENERAL)
            for cl, pool in ((post_list, post), (monthly_list, GENERAL)):
                if cl.is_builtin:
                    continue
                for item in cl.items.all():
                    builder.fail_notes[item.pk] = pool[item.number - 1][1]
            daily = ent == chem or (ent.key_class == K.HAZCHEM and daily_left > 0)  # tank farms: every day
            daily_left -= daily
            CheckPlan.objects.create(enterprise=ent, checklist=post_list, name=f"{place}{'日' if daily else '周'}检",
                                     post=post_name, place=place, frequency="daily" if daily else "weekly",
                                     assignee=staff, starts_on=since)
            CheckPlan.objects.create(enterprise=ent, checklist=monthly_list, name="月度综合检查", post="安全管理部",
                                     place="全厂", frequency="monthly", assignee=head, starts_on=since)
        actions.generate_tasks(today=today, since=since)

        _say(stdout, "Creating check records…")
        past = (CheckTask.objects.filter(plan__enterprise__in=candidates, due_on__lt=today)
                .select_related("plan", "plan__checklist", "assignee").order_by("due_on", "id"))
        records, contents = [], []
        for task in past:
            if task.plan.checklist_id not in item_lists:
                item_lists[task.plan.checklist_id] = list(task.plan.checklist.items.order_by("number"))
            made = builders[task.plan.enterprise_id].record(task, item_lists[task.plan.checklist_id])
            if made is not None:
                records.append(made[0])
                contents.append(made[1:])
        CheckRecord.objects.bulk_create(records, batch_size=500)
        CheckTask.objects.bulk_update(
            [_done(r) for r in records], ["status", "done_at"], batch_size=500)
        results = [CheckResult(record=record, item=item, outcome=outcome, note=note)
                   for record, (rows, _photos) in zip(records, contents, strict=True) for item, outcome, note in rows]
        CheckResult.objects.bulk_create(results, batch_size=1000)

        _say(stdout, "Attaching photos and looking for formalism…")
        by_record = {}
        for result in results:
            by_record.setdefault(result.record_id, {})[result.item.number] = result
        # in the order they were handed in: each record is compared with those before it
        for record, (_rows, photos) in sorted(zip(records, contents, strict=True),
                                              key=lambda pair: (pair[0].finished_at, pair[0].pk)):
            mine = by_record[record.pk]
            evidence = [attach(mine[number], SimpleUploadedFile(
                f"IMG_{record.finished_at:%Y%m%d}_{number:02d}{i}.png", data, content_type="image/png"),
                by=record.checked_by, role=formalism.EVIDENCE)
                for number, batch in photos.items() for i, data in enumerate(batch)]
            formalism.evaluate(record, fresh=True, results=list(mine.values()), evidence=evidence)
        created = len(records)

        _say(stdout, "Turning failures into hazards…")
        hazards = _hazards(rng, results, builders, today)
    _say(stdout, f"Created {created} check records ({sum(r.flag_count > 0 for r in records)} flagged) "
                 f"and {hazards} hazards from failed items.")
    return created


# Share of the demo enterprises per key-industry class (the rest: the largest of any class).
CLASS_SHARES = {K.HAZCHEM: 0.35, K.CONSTRUCTION: 0.15, K.METALLURGY: 0.08, K.DUST: 0.08, K.TRADE_OTHER: 0.1,
                K.AMMONIA: 0.04, K.GAS: 0.04}


def _candidates(n: int) -> list[Enterprise]:
    """The named chemical enterprise, the largest of each city, then the largest of each class by its share."""
    operating = (Enterprise.objects.filter(status=EnterpriseStatus.OPERATING).select_related("organisation")
                 .order_by("-employees", "id"))
    chosen: list[Enterprise] = []

    def take(qs, k):
        for ent in qs.exclude(pk__in=[e.pk for e in chosen])[:max(0, min(k, n - len(chosen)))]:
            chosen.append(ent)

    take(operating.filter(name=CHEM_ENTERPRISE), 1)
    for city in sorted({c[:4] for c in operating.values_list("county_id", flat=True).distinct()}):
        take(operating.filter(prefix_q("county__code", city)), 1)
    for key_class, share in CLASS_SHARES.items():
        take(operating.filter(key_class=key_class), round(n * share))
    take(operating, n)
    return chosen


def _done(record: CheckRecord) -> CheckTask:
    task = record.task
    task.status, task.done_at = TaskStatus.DONE, record.finished_at
    return task


def _hazards(rng, results, builders, today) -> int:
    """Failed items reported as hazards (every major criterion, a third of the rest); older ones closed."""
    from worksafe.hazards import actions as hazard_actions
    from worksafe.hazards.models import Hazard

    ct = ContentType.objects.get_for_model(Hazard)
    count = 0
    for result in results:
        if result.outcome != Outcome.FAIL or not (result.item.is_major_criterion or rng.random() < 0.35):
            continue
        record = result.record
        builder = builders[record.enterprise_id]
        hazard, _created = actions.result_to_hazard(result, by=builder.staff)
        count += 1
        found = hazard.found_on
        if (today - found).days < 25:
            continue  # recent: still being dealt with
        deadline = found + datetime.timedelta(days=rng.choice((7, 15, 30)))
        fixed = min(found + datetime.timedelta(days=rng.randint(2, 20)), today - datetime.timedelta(days=2))
        hazard_actions.assign(hazard, by=builder.head, responsible_person=str(builder.staff), deadline=deadline,
                              measures=f"{result.note}，立即整改")
        hazard_actions.rectify(hazard, by=builder.staff, comment="已按要求整改完毕", on=fixed)
        hazard_actions.verify(hazard, by=builder.head, comment="复查合格")
        closed = fixed + datetime.timedelta(days=1)
        Hazard.objects.filter(pk=hazard.pk).update(closed_on=closed, rectified_on=fixed)
        steps = {"report": found, "assign": found, "rectify": fixed, "verify": closed}
        for log in TransitionLog.objects.filter(content_type=ct, object_id=str(hazard.pk)):
            day = steps.get(log.action, closed)
            TransitionLog.objects.filter(pk=log.pk).update(
                at=timezone.make_aware(datetime.datetime.combine(day, datetime.time(10, rng.randrange(60)))))
    return count
