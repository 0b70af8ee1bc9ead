"""Demo risk points (风险点) for the largest demo enterprises, per key-industry class, assessed by the rules.

Deterministic (seeded) and idempotent: nothing is created when any risk point exists. Each enterprise uses one
method for all its points (LEC, or LS with the criterion it adopted) and its points get 2–4 control measures.
"""

from __future__ import annotations

import datetime
import random

from django.db import transaction
from django.utils import timezone

from worksafe.core.models import User
from worksafe.enterprises.models import Enterprise, EnterpriseStatus
from worksafe.risks import actions
from worksafe.risks.models import ControlMeasure, RiskPoint

# Templates: (name, kind, accident types, hazard factors, (L, E, C) for LEC, (L, S) for LS, measures).
# Measures: (type, text); the first 2–4 are used. Values are typical of published enterprise registers.
T = tuple
_ELECTRIC = T(["配电室", "place", ["electric_shock", "fire"], "带电设备裸露、绝缘老化、电缆过载发热",
               (1, 6, 7), (2, 3),
               [("engineering", "配电柜设置漏电保护和防护遮栏，室内配置二氧化碳灭火器"),
                ("management", "执行工作票、操作票制度，非电工不得进入"),
                ("ppe", "操作人员穿绝缘鞋、戴绝缘手套"),
                ("emergency", "发生触电立即切断电源，实施心肺复苏并拨打120")]])
_WAREHOUSE = T(["原料仓库", "place", ["fire", "struck_by_object", "vehicle"], "可燃物料集中堆放、叉车往来",
                (1, 6, 7), (2, 3),
                [("engineering", "设置自动喷水灭火系统和火灾报警系统"),
                 ("management", "物料分区分类限高堆放，保持消防通道畅通"),
                 ("training", "仓管员每年参加消防培训和灭火演练"),
                 ("emergency", "初起火灾用灭火器扑救，火势扩大立即疏散并拨打119")]])
_FORKLIFT = T(["叉车作业", "activity", ["vehicle", "struck_by_object"], "视线受阻、超速、超载、人车混行",
               (3, 6, 3), (3, 2),
               [("engineering", "厂区设置人车分流通道和限速标志"),
                ("management", "叉车持证驾驶，每日班前点检"),
                ("training", "驾驶员每年复训一次"),
                ("emergency", "发生碰撞立即停车，救治伤员并报告")]])
_CONFINED = T(["污水池清淤（有限空间作业）", "activity", ["poisoning", "drowning"], "硫化氢、缺氧、淤泥",
               (1, 2, 40), (2, 4),
               [("management", "严格执行先通风、再检测、后作业，办理有限空间作业审批"),
                ("engineering", "配置强制通风机和四合一气体检测仪"),
                ("ppe", "作业人员佩戴安全带、救生绳和正压式空气呼吸器"),
                ("emergency", "严禁盲目施救，监护人立即呼救并用三脚架救援")]])
_BOILER = T(["燃气锅炉房", "place", ["boiler", "burns", "fire"], "超压、缺水、燃气泄漏", (1, 6, 15), (2, 4),
             [("engineering", "安全阀、压力表定期校验，设置燃气泄漏报警与切断装置"),
              ("management", "司炉人员持证上岗，交接班检查水位和压力"),
              ("training", "每季度开展锅炉事故应急演练"),
              ("emergency", "发现缺水严禁进水，立即停炉并报告")]])
_PRESS = T(["冲压车间", "place", ["machinery", "struck_by_object"], "冲压设备运动部件、模具更换", (3, 6, 7), (3, 3),
            [("engineering", "冲床加装光电保护装置和双手操作按钮"),
             ("management", "换模时执行上锁挂牌"),
             ("ppe", "操作人员佩戴防护手套、护目镜"),
             ("emergency", "发生机械伤害立即停机，现场止血包扎并送医")]])
GENERAL = [_ELECTRIC, _WAREHOUSE, _FORKLIFT, _CONFINED, _BOILER, _PRESS]

TEMPLATES: dict[str, list] = {
    "hazchem": [
        ["液氨储罐区", "unit", ["poisoning", "fire", "other_explosion", "vessel"], "液氨泄漏、储罐超压、静电积聚",
         (3, 6, 40), (3, 5),
         [("engineering", "罐区设置可燃有毒气体检测报警仪，与紧急切断阀联锁"),
          ("management", "执行罐区巡检制度，每2小时巡检一次并记录"),
          ("ppe", "配备正压式空气呼吸器、重型防化服"),
          ("emergency", "发生泄漏立即启动紧急切断，人员向上风向疏散，拨打119")]],
        ["加氢反应釜", "equipment", ["fire", "other_explosion", "vessel", "burns"], "氢气泄漏、超温超压、飞温",
         (1, 6, 40), (2, 5),
         [("engineering", "设置温度、压力高高联锁和安全仪表系统（SIS）"),
          ("management", "严格执行工艺操作规程和工艺卡片"),
          ("training", "操作人员取得特种作业操作证"),
          ("emergency", "超温时启动紧急泄压和氮气置换")]],
        ["甲醇装卸作业", "activity", ["fire", "other_explosion", "vehicle", "poisoning"], "静电、装卸软管破裂、车辆溜车",
         (3, 3, 15), (3, 3),
         [("engineering", "装卸鹤位设置静电接地报警器和防溢流装置"),
          ("management", "装卸全程专人监护，车辆熄火并垫好止轮器"),
          ("ppe", "装卸人员穿防静电工作服"),
          ("emergency", "发生泄漏立即停止装卸，用沙土围堵并报告")]],
        ["动火作业", "activity", ["fire", "other_explosion", "burns"], "可燃气体残留、焊渣飞溅", (3, 2, 15), (3, 3),
         [("management", "办理动火安全作业证，作业前分析可燃气体浓度"),
          ("engineering", "动火点周围清除可燃物并设置防火毯"),
          ("training", "动火人和监火人持证上岗"),
          ("emergency", "现场配备灭火器材，监火人全程在场")]],
        ["储罐清洗（受限空间作业）", "activity", ["poisoning", "fire"], "有毒气体残留、缺氧", (1, 2, 40), (2, 4),
         [("management", "办理受限空间作业证，隔离、置换、通风后检测合格方可进入"),
          ("ppe", "佩戴长管呼吸器和安全带"),
          ("emergency", "设专人监护，配备救援三脚架")]],
        ["危险化学品仓库", "place", ["fire", "other_explosion", "poisoning"], "禁忌物混存、包装破损",
         (1, 6, 15), (2, 4),
         [("engineering", "仓库设置防爆电气、通风和温湿度监测"),
          ("management", "按禁忌物配存表分区储存，双人双锁管理"),
          ("emergency", "配备吸附棉、堵漏工具和洗眼器")]],
        ["中控室", "place", ["electric_shock", "fire"], "机柜过热、人员误操作", (1, 6, 3), (1, 3),
         [("engineering", "机柜间设置气体灭火系统"),
          ("management", "DCS操作权限分级管理")]],
    ],
    "noncoal_mine": [
        ["采掘工作面", "place", ["roof_fall", "blasting", "struck_by_object"], "顶板松动、浮石、爆破飞石",
         (3, 6, 15), (3, 4),
         [("engineering", "按设计进行锚杆支护，工作面设置顶板离层仪"),
          ("management", "执行敲帮问顶制度，班前检查顶板"),
          ("ppe", "作业人员佩戴安全帽、自救器"),
          ("emergency", "发现冒顶征兆立即撤人至安全地点")]],
        ["尾矿库", "unit", ["collapse", "drowning"], "坝体渗漏、浸润线升高、暴雨漫坝", (1, 10, 40), (2, 5),
         [("engineering", "坝体安装浸润线、位移在线监测系统"),
          ("management", "汛期24小时值守，雨后巡坝"),
          ("emergency", "出现险情立即通知下游人员撤离")]],
        ["爆破作业", "activity", ["blasting", "explosives", "struck_by_object"], "早爆、拒爆、飞石", (3, 3, 40), (3, 5),
         [("management", "爆破作业人员持证上岗，设置警戒区域"),
          ("engineering", "采用非电起爆系统"),
          ("emergency", "拒爆时按规程处理，严禁掏挖")]],
        ["主提升系统", "equipment", ["lifting", "fall_from_height", "machinery"], "钢丝绳断裂、过卷", (1, 6, 15), (2, 4),
         [("engineering", "设置防过卷、防坠保护装置"),
          ("management", "钢丝绳每日检查，定期检测")]],
        ["民用爆炸物品库", "place", ["explosives", "fire"], "雷击、静电、违规储存", (0.5, 6, 100), (2, 5),
         [("engineering", "库房设置防雷、视频监控和入侵报警"),
          ("management", "炸药雷管分库存放，双人收发"),
          ("emergency", "发生火情立即撤离至安全距离外并报警")]],
    ],
    "coal_mine": [
        ["采煤工作面", "place", ["firedamp", "roof_fall", "poisoning"], "瓦斯积聚、顶板来压、煤尘", (1, 10, 100), (3, 5),
         [("engineering", "安装瓦斯监控系统，超限自动断电"),
          ("management", "执行一炮三检和三人连锁放炮制度"),
          ("ppe", "入井人员携带自救器和瓦斯便携仪"),
          ("emergency", "瓦斯超限立即停止作业、撤出人员")]],
        ["井下运输", "activity", ["vehicle", "struck_by_object"], "跑车、行人与车辆同行", (3, 6, 7), (3, 3),
         [("engineering", "斜巷设置一坡三挡"),
          ("management", "行车不行人，行人不行车")]],
        ["主通风机", "equipment", ["poisoning", "firedamp"], "通风机停运导致瓦斯积聚", (1, 6, 40), (2, 5),
         [("engineering", "主通风机一用一备，双回路供电"),
          ("emergency", "停风时立即撤出井下人员")]],
    ],
    "construction": [
        ["深基坑", "place", ["collapse", "fall_from_height", "drowning"], "边坡失稳、临边无防护、基坑积水",
         (3, 6, 15), (3, 4),
         [("engineering", "按专项方案支护，设置基坑位移监测点"),
          ("management", "超过一定规模的危大工程专家论证，每日巡查"),
          ("engineering", "基坑临边设置1.2米防护栏杆"),
          ("emergency", "发现坍塌征兆立即撤离坑内人员")]],
        ["塔式起重机", "equipment", ["lifting", "struck_by_object", "fall_from_height"], "超载、群塔作业碰撞、附着失效",
         (3, 6, 15), (3, 4),
         [("engineering", "安装力矩限制器、起重量限制器和防碰撞系统"),
          ("management", "司机、信号工、司索工持证上岗，十不吊"),
          ("training", "每月开展一次起重吊装安全交底"),
          ("emergency", "遇六级以上大风停止作业")]],
        ["高大模板支撑体系", "unit", ["collapse", "fall_from_height"], "架体失稳、混凝土浇筑荷载集中", (1, 6, 40), (2, 5),
         [("management", "专项施工方案经专家论证，验收合格后浇筑"),
          ("engineering", "浇筑过程设置监测点"),
          ("emergency", "发现异常立即停止浇筑并撤离人员")]],
        ["脚手架作业", "activity", ["fall_from_height", "struck_by_object"], "临边洞口、踏空、高处落物",
         (3, 6, 7), (3, 3),
         [("ppe", "高处作业系挂安全带"),
          ("engineering", "外架满挂密目安全网，设置挡脚板"),
          ("management", "架子工持证上岗，搭设后验收挂牌")]],
        ["施工现场临时用电", "equipment", ["electric_shock", "fire"], "电缆破损、未做接地", (3, 6, 3), (2, 3),
         [("engineering", "采用TN-S系统和三级配电两级保护"),
          ("management", "电工每日巡检并记录")]],
    ],
    "dust": [
        ["布袋除尘系统", "equipment", ["other_explosion", "fire"], "铝镁粉尘积聚、火花进入除尘器", (3, 6, 40), (3, 5),
         [("engineering", "除尘器设置泄爆、隔爆装置和火花探测熄灭装置"),
          ("management", "每班清理积尘并记录"),
          ("training", "岗位人员接受粉尘防爆专项培训"),
          ("emergency", "发生火情立即停机，严禁打开除尘器")]],
        ["打磨抛光作业", "activity", ["other_explosion", "machinery", "other"], "粉尘浓度高、砂轮破裂", (3, 6, 15), (3, 4),
         [("engineering", "每个工位设置吸尘罩"),
          ("ppe", "佩戴防尘口罩和护目镜"),
          ("management", "作业区严禁明火")]],
    ],
    "ammonia": [
        ["氨制冷机房", "place", ["poisoning", "vessel", "fire"], "液氨泄漏、压力容器超压", (3, 6, 40), (3, 5),
         [("engineering", "机房设置氨气浓度报警并与事故排风机联锁"),
          ("management", "制冷工持证上岗，每2小时巡检"),
          ("ppe", "配备正压式空气呼吸器和防化服"),
          ("emergency", "泄漏时启动喷淋，人员向上风向撤离")]],
        ["速冻库", "place", ["poisoning", "other"], "蒸发器管路泄漏、人员误锁库内", (1, 6, 15), (2, 4),
         [("engineering", "库门设置内开门装置和呼救按钮"),
          ("management", "进库作业不少于两人")]],
        ["液氨充装作业", "activity", ["poisoning", "burns"], "充装软管破裂、冻伤", (3, 2, 40), (2, 5),
         [("management", "充装时专人监护，核对充装量"),
          ("ppe", "佩戴防冻手套和面罩"),
          ("emergency", "配备应急喷淋和洗眼器")]],
    ],
    "metallurgy": [
        ["中频熔炼炉", "equipment", ["burns", "other_explosion", "fire"], "高温熔融金属喷溅、炉体漏水遇铁水爆炸",
         (3, 6, 40), (3, 5),
         [("engineering", "设置冷却水断水报警和应急水源"),
          ("management", "炉前地面保持干燥，严禁积水"),
          ("ppe", "炉前工穿阻燃服、戴面罩"),
          ("emergency", "发生漏炉立即断电，疏散炉前人员")]],
        ["煤气区域", "unit", ["poisoning", "other_explosion"], "煤气泄漏", (3, 6, 15), (3, 4),
         [("engineering", "设置固定式一氧化碳报警仪"),
          ("management", "进入煤气区域携带便携式报警仪，两人同行")]],
        ["铁水吊运", "activity", ["lifting", "burns"], "吊具失效、铁水倾翻", (1, 6, 40), (2, 5),
         [("engineering", "使用冶金铸造起重机，设置两套制动器"),
          ("management", "吊运路线下方严禁站人")]],
    ],
    "road_transport": [
        ["危险货物运输车辆", "equipment", ["vehicle", "fire", "poisoning"], "疲劳驾驶、罐体泄漏", (3, 6, 40), (3, 5),
         [("engineering", "车辆安装卫星定位和主动安全智能防控系统"),
          ("management", "驾驶员、押运员持证上岗，禁止超速疲劳驾驶"),
          ("emergency", "发生泄漏立即停车设警戒并报警")]],
        ["维修车间", "place", ["machinery", "fire", "struck_by_object"], "举升机失效、油料起火", (3, 6, 3), (2, 3),
         [("engineering", "举升机设置机械锁止装置"),
          ("management", "废油集中存放，车间严禁吸烟")]],
    ],
    "fireworks": [
        ["药物混合工房", "place", ["explosives", "fire"], "摩擦撞击、静电", (3, 6, 100), (3, 5),
         [("engineering", "工房设置防静电地面和人体静电消除装置"),
          ("management", "严格控制定员定量"),
          ("emergency", "发生着火立即撤离，不得抢救物品")]],
    ],
    "gas": [
        ["燃气储配站", "unit", ["fire", "other_explosion"], "燃气泄漏遇点火源", (1, 6, 40), (2, 5),
         [("engineering", "设置燃气泄漏报警和紧急切断装置"),
          ("management", "站区严禁烟火，进站人员交出火种")]],
    ],
}
LOCATIONS = ("东区", "西区", "南区", "北区", "一号车间", "二号车间", "三号车间", "生产区", "储运区", "公用工程区")
SURNAMES = "陈林黄张李王吴刘蔡杨郑许"
GIVEN = ("志强", "建国", "海峰", "明华", "文斌", "丽娟", "秀英", "振东", "晓峰", "国栋")
OWNERS = {"engineering": "设备部", "management": "安全环保部", "training": "人力资源部", "ppe": "安全环保部",
          "emergency": "应急救援队"}  # the department that keeps each kind of measure
LS_SCHEMES = ("ls_20_9_4", "ls_20_10_4")  # the two variants the reference found in print (ref §2.4 B, C)
_L_STEPS = (10, 6, 3, 1, 0.5, 0.2, 0.1)


def _candidates(limit: int) -> list[Enterprise]:
    """The largest operating enterprises, at most a fifth of them from one key-industry class, the demo
    enterprise of the enterprise accounts first."""
    chem = Enterprise.objects.filter(organisation__users__username="chem_admin").first()
    picked = [chem] if chem else []
    per_class: dict[str, int] = {}
    cap = max(3, limit // 5)
    qs = Enterprise.objects.filter(status=EnterpriseStatus.OPERATING).order_by("-employees", "id")
    for ent in qs.iterator(chunk_size=500):
        if len(picked) >= limit:
            break
        if ent in picked or per_class.get(ent.key_class, 0) >= cap:
            continue
        per_class[ent.key_class] = per_class.get(ent.key_class, 0) + 1
        picked.append(ent)
    return picked


def build_demo(stdout=None, seed: int = 2017, enterprises: int = 60) -> int:
    """Create the risk points; returns how many were created (0 when the demo already has them)."""
    if RiskPoint.objects.exists():
        return 0
    rng = random.Random(f"{seed}/risks")
    today = timezone.localdate()
    assessor = User.objects.filter(username="chem_admin").first() or User.objects.order_by("id").first()
    if assessor is None:
        return 0
    created = 0
    with transaction.atomic():
        for ent in _candidates(enterprises):
            pool = list(TEMPLATES.get(ent.key_class, []))
            pool += [t for t in rng.sample(GENERAL, k=len(GENERAL)) if t[0] not in {p[0] for p in pool}]
            chosen = pool[:rng.randint(3, min(8, len(pool)))]
            method = "ls" if rng.random() < 0.4 else "lec"
            scheme = rng.choice(LS_SCHEMES)
            for number, (name, kind, types, factors, lec, ls, measures) in enumerate(chosen, start=1):
                person = rng.choice(SURNAMES) + rng.choice(GIVEN)
                point = RiskPoint.objects.create(
                    enterprise=ent, code=f"FX-{number:02d}", name=name, kind=kind, accident_types=types,
                    location=rng.choice(LOCATIONS), hazard_factors=factors, responsible_person=person,
                    responsible_phone=f"13{rng.randint(5, 9)}{rng.randrange(10**8):08d}")
                ControlMeasure.objects.bulk_create([
                    ControlMeasure(point=point, kind=k, description=text, responsible=OWNERS[k])
                    for k, text in measures[:rng.randint(2, min(4, len(measures)))]])
                on = today - datetime.timedelta(days=rng.randint(20, 430))  # some past the 12-month reassessment
                better = rng.random() < 0.3  # controls in place lower the likelihood one step
                if method == "lec":
                    L = _L_STEPS[min(_L_STEPS.index(lec[0]) + better, len(_L_STEPS) - 1)]
                    actions.assess(point, by=assessor, method="lec", L=L, E=lec[1], C=lec[2], on=on,
                                   note="演示数据 demo")
                else:
                    actions.assess(point, by=assessor, method="ls", L=max(1, ls[0] - better), S=ls[1], scheme=scheme,
                                   on=on, note="演示数据 demo")
                created += 1
    if stdout is not None:
        stdout.write(f"Created {created} risk points.\n")
    return created
