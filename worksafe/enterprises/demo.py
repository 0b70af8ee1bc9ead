"""The deterministic demo dataset (`manage.py demo`): regulators, ~3,200 enterprises, licences and
one demo account per role, all in real Fujian jurisdictions.

Deterministic: the same seed gives the same organisations, enterprises (names, credit codes,
places, coordinates) and licence numbers; only dates are relative to today (licence expiry,
registration dates), so that "expiring soon" stays meaningful.

Idempotent: if the demo marker account exists, nothing is created and the accounts are returned.
The data is fictitious: names are composed from common words and do not denote real companies.
"""

from __future__ import annotations

import datetime
import math
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from worksafe.core import geo
from worksafe.core import roles as R
from worksafe.core.choices import (
    DEPARTMENT_CLASSES,
    Department,
    JurisdictionLevel,
    KeyIndustry,
    OrganisationKind,
)
from worksafe.core.models import Jurisdiction, Organisation, PasswordHistory, User
from worksafe.core.testing import build_credit_code, make_enterprise, make_user
from worksafe.enterprises.models import (
    Enterprise,
    EnterpriseStatus,
    Industry,
    Licence,
    LicenceKind,
    Scale,
    SupervisionTier,
)
from worksafe.enterprises.rules import CREDIT_CODE_CHARSET

DEMO_PASSWORD = "Demo@2017fj"
MARKER_USERNAME = "province_admin"  # the demo exists when this account does
NOMINAL_COUNTIES = frozenset({"350527"})  # 金门县: nominal unit, no enterprises
NOMINAL_TOWNSHIP_NAMES = frozenset({"马祖乡"})  # under 连江县: nominal, no enterprises
PROVINCE = "35"
CHEM_COUNTY = "350505"  # 泉港区
CHEM_ENTERPRISE = "福建泉港恒信石化有限公司"

K = KeyIndustry

# --- organisations -----------------------------------------------------------------------------

CITY_PHONE_AREA = {"3501": "0591", "3502": "0592", "3503": "0594", "3504": "0598", "3505": "0595",
                   "3506": "0596", "3507": "0599", "3508": "0597", "3509": "0593"}
COASTAL_CITIES = frozenset({"3501", "3502", "3503", "3505", "3506", "3509"})

# (department, province name, city name suffix); fishery only in coastal cities.
INDUSTRY_DEPARTMENTS = [
    (Department.HOUSING, "福建省住房和城乡建设厅", "住房和城乡建设局"),
    (Department.TRANSPORT, "福建省交通运输厅", "交通运输局"),
    (Department.OCEAN_FISHERY, "福建省海洋与渔业局", "海洋与渔业局"),
    (Department.MARKET, "福建省市场监督管理局", "市场监督管理局"),
]

# --- demo accounts -----------------------------------------------------------------------------
# (username, role, organisation key, full name); keys: ("emergency", code), (department, code), "chem".
DEMO_ACCOUNTS = [
    ("province_admin", R.REGULATOR_LEADER, ("emergency", PROVINCE), "郑国华"),
    ("xm_admin", R.REGULATOR_STAFF, ("emergency", "3502"), "林晓峰"),
    ("county_admin", R.REGULATOR_STAFF, ("emergency", CHEM_COUNTY), "陈志明"),
    ("chem_admin", R.ENTERPRISE_HEAD, "chem", "黄建国"),
    ("chem_staff", R.ENTERPRISE_STAFF, "chem", "刘秀英"),
    ("commander", R.COMMANDER, ("emergency", PROVINCE), "吴振东"),
    ("housing_staff", R.INDUSTRY_STAFF, (Department.HOUSING.value, "3502"), "王丽娟"),
    ("inspector", R.INSPECTOR, ("emergency", CHEM_COUNTY), "蔡文斌"),
    ("sysadmin", R.SYSTEM_ADMIN, ("emergency", PROVINCE), "许建平"),
    ("secadmin", R.SECURITY_ADMIN, ("emergency", PROVINCE), "苏静怡"),
    ("auditadmin", R.AUDIT_ADMIN, ("emergency", PROVINCE), "叶明辉"),
]

# --- enterprises: where and what ---------------------------------------------------------------

CITY_WEIGHT = {"3501": 1.0, "3502": 0.85, "3503": 0.45, "3504": 0.45, "3505": 1.25, "3506": 0.7,
               "3507": 0.4, "3508": 0.5, "3509": 0.5}
COUNTY_BOOST = {"350505": 2.5, "350521": 1.8, "350582": 2.2, "350581": 1.3, "350583": 1.6, "350181": 2.0,
                "350623": 1.6, "350604": 1.5, "350111": 1.3, "350121": 1.3, "350212": 1.3, "350213": 1.3,
                "350802": 1.5, "350481": 1.3, "350902": 1.3, "350981": 1.3, "350702": 1.2}

PETRO_COUNTIES = {"350505": 45.0, "350521": 20.0, "350623": 30.0, "350181": 15.0}  # 泉港, 惠安, 漳浦(古雷), 福清(江阴)
PETRO_TOWNSHIPS = {"350505": ["南埔镇", "山腰街道", "界山镇"], "350521": ["东桥镇", "辋川镇"],
                   "350623": ["古雷镇"], "350181": ["江阴镇"]}
HAZCHEM_CITIES = frozenset({"3501", "3505", "3506"})
MINE_CITIES = {"3504": (8.0, 2.5), "3507": (7.0, 0.8), "3508": (9.0, 3.5)}  # (noncoal, coal)
METALLURGY_COUNTIES = {"350123": 10.0, "350981": 9.0, "350404": 6.0, "350481": 4.0, "350583": 3.0}
COASTAL_COUNTIES = frozenset({
    "350105", "350112", "350122", "350123", "350128", "350181",
    "350203", "350205", "350206", "350211", "350212", "350213",
    "350303", "350305",
    "350503", "350505", "350521", "350581", "350582", "350583",
    "350604", "350622", "350623", "350624", "350626",
    "350902", "350921", "350981", "350982",
})
BIG_FISHERY_COUNTIES = frozenset({"350122", "350128", "350181", "350305", "350623", "350624", "350626",
                                  "350921", "350981", "350982", "350902", "350604", "350622"})

BASE_CLASS_WEIGHTS = {
    K.TRADE_OTHER: 30.0, K.CONSTRUCTION: 14.0, K.ROAD_TRANSPORT: 8.0, K.DUST: 5.0, K.METALLURGY: 1.5,
    K.CONFINED_SPACE: 4.0, K.SPECIAL_EQUIPMENT: 5.0, K.CROWDED_PLACE: 5.0, K.GAS: 1.2, K.AMMONIA: 1.2,
    K.HAZCHEM: 2.5, K.FIREWORKS: 0.8, K.EXPLOSIVES: 0.15, K.NONCOAL_MINE: 0.8,
}

# key class → {GB/T 4754 division: weight}
CLASS_DIVISIONS = {
    K.HAZCHEM: {"26": 8, "25": 1},  # petrochemical bases: see _division
    K.NONCOAL_MINE: {"10": 5, "09": 2, "08": 1},
    K.COAL_MINE: {"06": 1},
    K.FIREWORKS: {"51": 4, "26": 1},
    K.METALLURGY: {"31": 2, "32": 2},
    K.DUST: {"33": 3, "20": 2, "21": 2, "13": 1, "17": 1},
    K.AMMONIA: {"13": 2, "14": 1, "59": 1},
    K.CONFINED_SPACE: {"22": 2, "13": 1, "14": 1, "15": 1},
    K.TRADE_OTHER: {"13": 2, "14": 2, "15": 2, "17": 3, "18": 4, "19": 5, "20": 1, "21": 2, "22": 1, "23": 1,
                    "24": 2, "29": 3, "30": 4, "33": 3, "34": 3, "35": 2, "36": 2, "38": 3, "39": 3, "40": 1,
                    "51": 3, "52": 3},
    K.CONSTRUCTION: {"47": 6, "48": 3, "49": 2, "50": 3},
    K.ROAD_TRANSPORT: {"54": 1},
    K.WATER_TRANSPORT: {"55": 1},
    K.FISHERY: {"04": 1},
    K.EXPLOSIVES: {"26": 1},
    K.SPECIAL_EQUIPMENT: {"34": 2, "35": 1, "37": 1, "44": 1, "59": 2},
    K.GAS: {"45": 1},
    K.CROWDED_PLACE: {"52": 3, "61": 3, "62": 2, "90": 1},
}
# Local specialities: trade/manufacturing divisions boosted per county.
COUNTY_DIVISION_BOOST = {
    "350582": {"19": 5, "18": 3, "17": 2}, "350581": {"18": 5, "17": 3}, "350526": {"30": 8},
    "350524": {"15": 8}, "350583": {"30": 5}, "350322": {"21": 6}, "350304": {"19": 3}, "350302": {"19": 3},
    "350203": {"52": 3, "39": 2}, "350206": {"39": 3}, "350211": {"36": 2, "38": 2},
}

DIVISION_WORDS = {
    "04": ["水产", "渔业", "海洋渔业", "远洋渔业", "水产养殖"],
    "06": ["煤业", "矿业"],
    "08": ["矿业", "铁矿"],
    "09": ["矿业", "有色矿业", "稀土矿业"],
    "10": ["石材", "矿业", "建材矿业", "石英砂", "高岭土"],
    "13": ["食品", "粮油", "饲料"],
    "14": ["食品", "罐头食品", "调味食品"],
    "15": ["茶业", "酒业", "饮料"],
    "17": ["纺织", "化纤纺织", "织造"],
    "18": ["服饰", "服装", "制衣"],
    "19": ["鞋业", "鞋服", "皮革制品"],
    "20": ["木业", "竹业"],
    "21": ["家具", "红木家具"],
    "22": ["纸业", "包装"],
    "23": ["印刷", "彩印"],
    "24": ["工艺品", "体育用品"],
    "25": ["石化", "石油化工", "炼化", "能源"],
    "26": ["化工", "化学", "新材料", "精细化工", "气体", "化学品"],
    "29": ["塑胶", "橡胶制品", "塑料制品"],
    "30": ["陶瓷", "建材", "玻璃", "水泥制品"],
    "31": ["钢铁", "特钢", "不锈钢"],
    "32": ["铝业", "铜业", "有色金属"],
    "33": ["五金制品", "金属制品", "铝制品"],
    "34": ["机械", "通用设备", "起重机械"],
    "35": ["专用设备", "机械制造"],
    "36": ["汽车配件", "汽车零部件"],
    "37": ["船舶修造", "船舶重工"],
    "38": ["电器", "电机", "电气"],
    "39": ["电子科技", "光电科技"],
    "40": ["仪器仪表"],
    "44": ["热电", "电力"],
    "45": ["燃气", "天然气", "液化气"],
    "47": ["建筑工程", "建设集团", "建设工程"],
    "48": ["市政工程", "路桥工程", "水利水电工程"],
    "49": ["建筑安装工程", "机电安装工程"],
    "50": ["装饰工程", "装修工程"],
    "51": ["贸易", "商贸", "进出口贸易"],
    "52": ["百货", "商业广场", "超市"],
    "54": ["运输", "物流", "汽车运输", "客运", "危险货物运输"],
    "55": ["海运", "航运", "船务"],
    "59": ["仓储", "港务", "物流仓储"],
    "61": ["大酒店", "酒店管理"],
    "62": ["餐饮管理", "餐饮"],
    "90": ["影城", "娱乐"],
}
CLASS_WORDS = {  # overrides where the key class says more than the division
    (K.FIREWORKS, "51"): ["烟花爆竹", "烟花爆竹贸易"],
    (K.FIREWORKS, "26"): ["烟花", "烟花爆竹"],
    (K.EXPLOSIVES, "26"): ["民爆器材", "民用爆破器材"],
    (K.AMMONIA, "13"): ["冷冻食品", "水产食品"],
    (K.AMMONIA, "14"): ["冷冻食品", "速冻食品"],
    (K.AMMONIA, "59"): ["冷链物流", "冷库"],
    (K.CONFINED_SPACE, "15"): ["酿造", "酒业"],
    (K.HAZCHEM, "51"): ["化工贸易"],
}
INLAND_FUEL_WORDS = ["能源", "燃料", "生物质燃料"]
FRESHWATER_FISHERY_WORDS = ["水产", "水产养殖", "生态渔业"]
EMPLOYEE_MEDIAN = {
    K.HAZCHEM: 110, K.NONCOAL_MINE: 45, K.COAL_MINE: 140, K.FIREWORKS: 12, K.METALLURGY: 260, K.DUST: 70,
    K.AMMONIA: 50, K.CONFINED_SPACE: 60, K.TRADE_OTHER: 60, K.CONSTRUCTION: 150, K.ROAD_TRANSPORT: 80,
    K.WATER_TRANSPORT: 60, K.FISHERY: 18, K.EXPLOSIVES: 220, K.SPECIAL_EQUIPMENT: 80, K.GAS: 60,
    K.CROWDED_PLACE: 50,
}

BRANDS = (
    "恒信 永安 闽发 鑫达 华闽 兴业 福源 海峡 东南 金鹰 宏达 鸿运 隆盛 嘉禾 瑞丰 永盛 新华 天福 万利 建新 "
    "大华 盛达 信达 泰和 宏图 正大 华融 德盛 海丰 龙辉 顺发 源通 旭日 晨光 华美 富通 明达 和顺 恒昌 金源 "
    "冠达 安达 永丰 合力 众诚 三和 鼎盛 荣达 腾飞 华星 佳美 闽兴 闽泰 闽江 东方 金山 长兴 宏盛 万通 华信 "
    "振华 中汇 联盛 汇丰 广源 华达 永泰 宝丰 福隆 嘉信 新源 恒达 鑫源 利达 祥和 同创 凯达 金泰 裕丰 诚信 "
    "天成 昌盛 荣盛 益丰 惠泉 闽南 海西 清源 武夷 九龙 紫金 湄洲 鼓山 东海 南方 海晟 华鑫 瑞达 兴达"
).split()
BRAND_FIRST = "恒永闽鑫华兴福海金宏鸿隆嘉瑞盛新天万建泰正德丰龙顺源中旭富明和冠安合众鼎荣腾佳远东宝祥裕诚信昌达利通辉"
BRAND_SECOND = "信安发达兴盛源泰丰昌利华通鑫隆荣祥辉升宇联晟润誉成"

SURNAMES = ("陈" * 12 + "林" * 10 + "黄" * 7 + "张" * 5 + "吴" * 5 + "王" * 4 + "李" * 4 + "郑" * 4 + "刘" * 3
            + "杨" * 2 + "蔡" * 3 + "许" * 2 + "洪" * 2 + "郭" * 2 + "曾" * 2 + "庄" * 2 + "叶" * 2 + "苏" * 2
            + "施" * 2 + "谢" * 2 + "方江游邱余周罗何卢高傅詹赖魏朱翁柯邓潘颜")
GIVEN_NAMES = (
    "建国 建华 志强 志明 文斌 伟 军 海峰 明辉 国栋 振华 金水 清泉 德福 晓东 鹏 宇航 俊杰 永福 荣华 "
    "少华 文龙 建平 国强 锦华 鸿斌 宗良 立新 春生 金城 一鸣 子轩 家豪 思远 海涛 "
    "丽娟 秀英 春梅 婷婷 燕 琴 玲 惠芳 雪梅 红霞 美玲 雅琴 丽华 淑贞 秀琴 晓燕 佳怡 诗涵 碧霞 月娥"
).split()
ROADS = ("中山路 人民路 解放路 建设路 工业路 创业路 发展大道 滨海大道 东环路 西环路 南环路 北环路 新华路 "
         "振兴路 科技路 园区路 港口路 和平路 兴业路 湖滨路 沿江路 文化路 长安路 府前路").split()
PETRO_ROADS = ["石化路", "临港大道", "化工园路", "港区路"]


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _short(name: str) -> str:
    """鼓楼区 → 鼓楼, 武夷山市 → 武夷山, 沙县区 → 沙县, 福州市 → 福州."""
    return name[:-1] if len(name) >= 3 and name[-1] in "市县区" else name


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3333555588887799')}{rng.randrange(10**9):09d}"


def _org_code_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, weights, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _credit_code(rng: random.Random, county_code: str, taken: set[str]) -> str:
    """A valid, unused credit code: '91' + county + a GB 11714-style organisation code."""
    letters = [c for c in CREDIT_CODE_CHARSET if c.isalpha() and c != "T"]
    while True:
        if rng.random() < 0.65:  # post-2015 registrations: MA + 6 characters
            body8 = "MA" + str(rng.randrange(2, 9)) + "".join(
                rng.choice("0123456789" if rng.random() < 0.6 else letters) for _ in range(5))
        else:  # older codes converted from organisation codes
            body8 = str(rng.randrange(1, 8)) + "".join(rng.choice("0123456789") for _ in range(7))
        code = build_credit_code(county_code, body8 + _org_code_check(body8))
        if code not in taken:
            taken.add(code)
            return code


class _Places:
    """The jurisdiction tree, loaded once, ordered by code."""

    def __init__(self):
        rows = list(Jurisdiction.objects.order_by("code").values_list("code", "name", "level", "parent_id"))
        self.name = {code: name for code, name, _level, _parent in rows}
        self.cities = [code for code, _n, level, _p in rows if level == JurisdictionLevel.CITY]
        self.counties = [code for code, _n, level, _p in rows if level == JurisdictionLevel.COUNTY]
        self.townships: dict[str, list[tuple[str, str]]] = {c: [] for c in self.counties}
        for code, name, level, parent in rows:
            if level == JurisdictionLevel.TOWNSHIP and parent in self.townships and name not in NOMINAL_TOWNSHIP_NAMES:
                self.townships[parent].append((code, name))

    def county_full_name(self, county: str) -> str:
        return self.name[county[:4]] + self.name[county]


# --- organisations -----------------------------------------------------------------------------


def _ensure_organisations(places: _Places, rng: random.Random) -> dict:
    """Regulators (province, 9 cities, 84 counties) and industry departments (province, cities).
    Reuses an existing organisation of the same name in the same jurisdiction."""
    wanted = []  # (key, name, kind, department, jurisdiction)
    wanted.append((("emergency", PROVINCE), "福建省应急管理厅", OrganisationKind.EMERGENCY, "", PROVINCE))
    for city in places.cities:
        wanted.append((("emergency", city), f"{places.name[city]}应急管理局", OrganisationKind.EMERGENCY, "", city))
    for county in places.counties:
        wanted.append((("emergency", county), f"{places.county_full_name(county)}应急管理局",
                       OrganisationKind.EMERGENCY, "", county))
    for dept, province_name, suffix in INDUSTRY_DEPARTMENTS:
        wanted.append(((dept.value, PROVINCE), province_name, OrganisationKind.INDUSTRY, dept.value, PROVINCE))
        for city in places.cities:
            if dept == Department.OCEAN_FISHERY and city not in COASTAL_CITIES:
                continue
            wanted.append(((dept.value, city), f"{places.name[city]}{suffix}", OrganisationKind.INDUSTRY,
                           dept.value, city))

    existing = {(o.name, o.jurisdiction_id): o for o in Organisation.objects.filter(
        name__in=[w[1] for w in wanted])}
    new = []
    for _key, name, kind, dept, code in wanted:
        area = CITY_PHONE_AREA.get(code[:4], "0591")
        phone = f"{area}-{rng.randrange(2, 9)}{rng.randrange(10**6, 10**7)}"
        if (name, code) in existing:
            continue
        classes = [c.value for c in DEPARTMENT_CLASSES.get(dept, [])] if kind == OrganisationKind.INDUSTRY else []
        new.append(Organisation(name=name, kind=kind, department=dept, jurisdiction_id=code,
                                supervised_classes=classes, phone=phone))
    Organisation.objects.bulk_create(new, batch_size=500)
    by_name = {(o.name, o.jurisdiction_id): o for o in Organisation.objects.filter(
        name__in=[w[1] for w in wanted])}
    return {key: by_name[(name, code)] for key, name, _kind, _dept, code in wanted}


# --- enterprises -------------------------------------------------------------------------------


def _county_counts(places: _Places, total: int) -> dict[str, int]:
    """How many enterprises per county: a floor in every county, the rest by weight
    (largest remainder, ties by code, so it is deterministic)."""
    counties = [c for c in places.counties if c not in NOMINAL_COUNTIES]
    floor = max(1, min(5, total // 250))
    counts = {c: floor for c in counties}
    rest = max(0, total - floor * len(counties))
    weights = {}
    for c in counties:
        siblings = sum(1 for d in counties if d[:4] == c[:4])
        weights[c] = CITY_WEIGHT.get(c[:4], 0.5) / siblings * COUNTY_BOOST.get(c, 1.0)
    wsum = sum(weights.values())
    shares = {c: rest * w / wsum for c, w in weights.items()}
    for c in counties:
        counts[c] += int(shares[c])
    left = rest - sum(int(s) for s in shares.values())
    for c in sorted(counties, key=lambda c: (-(shares[c] - int(shares[c])), c))[:left]:
        counts[c] += 1
    return counts


def _class_weights(county: str) -> dict:
    city = county[:4]
    w = dict(BASE_CLASS_WEIGHTS)
    if county in PETRO_COUNTIES:
        w[K.HAZCHEM] = PETRO_COUNTIES[county]
    elif city in HAZCHEM_CITIES:
        w[K.HAZCHEM] *= 2
    if city in MINE_CITIES:
        w[K.NONCOAL_MINE], w[K.COAL_MINE] = MINE_CITIES[city]
    if county in METALLURGY_COUNTIES:
        w[K.METALLURGY] = METALLURGY_COUNTIES[county]
    if county in COASTAL_COUNTIES:
        big = county in BIG_FISHERY_COUNTIES
        w[K.FISHERY] = (9.0 if city in ("3506", "3509") else 6.0) if big else 2.0
        w[K.WATER_TRANSPORT] = 1.5
    elif city in ("3506", "3509"):
        w[K.FISHERY] = 0.6  # reservoir and freshwater fisheries
    return w


def _division(rng: random.Random, key_class: str, county: str, divisions: set[str]) -> str:
    weights = {d: v for d, v in CLASS_DIVISIONS[key_class].items() if d in divisions}
    if key_class == K.HAZCHEM and county in PETRO_COUNTIES:
        weights = {d: v for d, v in {"25": 3, "26": 4}.items() if d in divisions}
    if key_class == K.TRADE_OTHER and county in COUNTY_DIVISION_BOOST:
        weights = {d: v * COUNTY_DIVISION_BOOST[county].get(d, 1) for d, v in weights.items()}
    if not weights:
        raise ValueError(f"no GB/T 4754 division in the Industry table for class {key_class}")
    return _weighted(rng, weights)


def _brand(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(BRANDS)
    return rng.choice(BRAND_FIRST) + rng.choice(BRAND_SECOND)


def _enterprise_name(rng, places: _Places, county: str, key_class: str, division: str, big: bool,
                     used: set[str]) -> str:
    words = CLASS_WORDS.get((key_class, division)) or DIVISION_WORDS.get(division) or ["实业"]
    if division == "25" and county not in PETRO_COUNTIES:
        words = INLAND_FUEL_WORDS  # refineries are in the coastal petrochemical bases only
    elif division == "04" and county not in COASTAL_COUNTIES:
        words = FRESHWATER_FISHERY_WORDS
    for attempt in range(50):
        r = rng.random()
        if big and r < 0.3:
            place = "福建"
        elif r < 0.55:
            place = _short(places.name[county[:4]])
        else:
            place = _short(places.name[county])
        brand = _brand(rng) if attempt < 25 else _brand(rng) + rng.choice(BRAND_SECOND)
        suffix = "股份有限公司" if big and rng.random() < 0.35 else "有限公司"
        name = f"{place}{brand}{rng.choice(words)}{suffix}"
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("could not find an unused enterprise name")


def _plan_enterprise(rng: random.Random, places: _Places, county: str, divisions: set[str], used_names: set[str],
                     taken_codes: set[str], now: datetime.datetime) -> Enterprise:
    key_class = _weighted(rng, _class_weights(county))
    division = _division(rng, key_class, county, divisions)
    employees = max(3, min(9000, int(rng.lognormvariate(math.log(EMPLOYEE_MEDIAN.get(key_class, 60)), 0.8))))
    if division == "25" and county in PETRO_COUNTIES:
        employees = max(employees, 150) * 2
    scale = Scale.ABOVE if employees >= 300 or (employees >= 80 and rng.random() < 0.5) else Scale.BELOW
    if key_class in (K.HAZCHEM, K.EXPLOSIVES) and employees >= 700:
        tier = SupervisionTier.PROVINCE
    elif employees >= 300 or (scale == Scale.ABOVE and key_class in (K.HAZCHEM, K.COAL_MINE, K.METALLURGY)):
        tier = SupervisionTier.CITY
    else:
        tier = SupervisionTier.COUNTY
    r = rng.random()
    closed_share = 0.25 if key_class == K.COAL_MINE else 0.04
    status = (EnterpriseStatus.CLOSED if r < closed_share else
              EnterpriseStatus.SUSPENDED if r < closed_share + 0.08 else EnterpriseStatus.OPERATING)

    townships = places.townships[county]
    preferred = [t for t in townships if t[1] in PETRO_TOWNSHIPS.get(county, ())]
    if key_class == K.HAZCHEM and preferred and rng.random() < 0.75:
        township = rng.choice(preferred)
        road = rng.choice(PETRO_ROADS)
    else:
        township = rng.choice(townships) if townships else None
        road = rng.choice(ROADS)
    address = f"{places.county_full_name(county)}{township[1] if township else ''}{road}{rng.randrange(1, 399)}号"

    legal = _person(rng)
    legal_phone = _mobile(rng)
    if rng.random() < 0.45:
        principal, principal_phone = legal, legal_phone
    else:
        principal, principal_phone = _person(rng), _mobile(rng)
    lng, lat = geo.random_point_in_county(county, rng)
    return Enterprise(
        name=_enterprise_name(rng, places, county, key_class, division, scale == Scale.ABOVE and employees >= 300,
                              used_names),
        credit_code=_credit_code(rng, county, taken_codes),
        legal_representative=legal, legal_representative_phone=legal_phone,
        principal=principal, principal_phone=principal_phone,
        safety_manager=_person(rng), safety_manager_phone=_mobile(rng),
        address=address, lng=Decimal(f"{lng:.6f}"), lat=Decimal(f"{lat:.6f}"),
        county_id=county, township_id=township[0] if township else None, industry_id=division,
        key_class=key_class, scale=scale, employees=employees, tier=tier, status=status,
        created_at=now - datetime.timedelta(days=rng.randrange(0, 8 * 365), minutes=rng.randrange(0, 24 * 60)),
    )


# --- licences ----------------------------------------------------------------------------------

LICENSED_CLASSES = frozenset({K.HAZCHEM, K.NONCOAL_MINE, K.COAL_MINE, K.FIREWORKS, K.EXPLOSIVES,
                              K.ROAD_TRANSPORT})


def _expiry(rng: random.Random, today: datetime.date) -> datetime.date:
    r = rng.random()
    if r < 0.04:  # expired
        return today - datetime.timedelta(days=rng.randrange(1, 180))
    if r < 0.14:  # expiring within the warning window (60 days)
        return today + datetime.timedelta(days=rng.randrange(0, 60))
    return today + datetime.timedelta(days=rng.randrange(61, 3 * 365))


def _licences_for(rng: random.Random, ent: Enterprise, places: _Places, today: datetime.date,
                  seq: dict[str, int]) -> list[Licence]:
    """Licences a plausible enterprise of this class holds (none for most classes)."""
    city, county = ent.county_id[:4], ent.county_id
    city_name, city_short = places.name[city], _short(places.name[city])[:1]
    specs = []  # (kind, number template, issuer, years)
    k = ent.key_class
    if k == K.HAZCHEM:
        if ent.industry_id in ("25", "26"):
            specs.append((LicenceKind.SAFETY_PRODUCTION, "（闽）WH安许证字〔{y}〕{n:04d}号", "福建省应急管理厅", 3))
            if rng.random() < 0.3:
                specs.append((LicenceKind.HAZCHEM_OPERATION, f"闽{city_short}危化经字〔{{y}}〕{{n:05d}}号",
                              f"{city_name}应急管理局", 3))
        else:
            specs.append((LicenceKind.HAZCHEM_OPERATION, f"闽{city_short}危化经字〔{{y}}〕{{n:05d}}号",
                          f"{city_name}应急管理局", 3))
        if rng.random() < 0.15:
            specs.append((LicenceKind.HAZCHEM_USE, "（闽）WH使许证字〔{y}〕{n:04d}号", "福建省应急管理厅", 3))
    elif k in (K.NONCOAL_MINE, K.COAL_MINE):
        prefix = "MK" if k == K.COAL_MINE else "FM"
        specs.append((LicenceKind.SAFETY_PRODUCTION, f"（闽）{prefix}安许证字〔{{y}}〕{{n:04d}}号",
                      "福建省应急管理厅" if k == K.COAL_MINE else f"{city_name}应急管理局", 3))
        specs.append((LicenceKind.MINING, f"C{county}{{y}}{{n:012d}}", f"{city_name}自然资源局", 5))
    elif k == K.FIREWORKS:
        specs.append((LicenceKind.FIREWORKS, "（闽）YH批字〔{y}〕{n:04d}号" if ent.industry_id == "51"
                      else "（闽）YH安许证字〔{y}〕{n:04d}号", f"{city_name}应急管理局", 3))
    elif k == K.EXPLOSIVES:
        specs.append((LicenceKind.SAFETY_PRODUCTION, "（闽）MB安许证字〔{y}〕{n:04d}号", "福建省工业和信息化厅", 3))
    elif k == K.ROAD_TRANSPORT and rng.random() < 0.8:
        specs.append((LicenceKind.ROAD_TRANSPORT, f"闽交运管许可{city_short}字{county}{{n:06d}}号",
                      f"{places.county_full_name(county)}交通运输局", 4))
    licences = []
    for kind, template, issuer, years in specs:
        expires = _expiry(rng, today)
        issued = expires - datetime.timedelta(days=365 * years)
        seq[kind] = seq.get(kind, 0) + 1
        n = seq[kind] if kind != LicenceKind.MINING else rng.randrange(10**11, 10**12)
        licences.append(Licence(enterprise=ent, kind=kind, number=template.format(y=issued.year, n=n),
                                issuer=issuer, issued_on=issued, expires_on=expires))
    return licences


# --- accounts ----------------------------------------------------------------------------------


def demo_accounts() -> list[dict]:
    """The demo accounts as they are in the database (username, password, role, organisation)."""
    users = {u.username: u for u in User.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS])
             .select_related("organisation").prefetch_related("groups")}
    accounts = []
    for username, role, _key, _full_name in DEMO_ACCOUNTS:
        user = users.get(username)
        if user is None:
            continue
        held = sorted(g.name for g in user.groups.all())
        accounts.append({
            "username": username,
            "password": DEMO_PASSWORD,
            "role": ",".join(held) or role,
            "organisation": user.organisation.name if user.organisation_id else "",
        })
    return accounts


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def build_demo(stdout=None, enterprises: int = 3200, seed: int = 2017) -> dict:
    """Create the demo dataset once. Returns {"created": bool, "accounts": [...], "counts": {...}}."""
    if User.objects.filter(username=MARKER_USERNAME).exists():
        _say(stdout, "Demo data already present: nothing created.")
        return {"created": False, "accounts": demo_accounts(), "counts": {}}

    org_rng = random.Random(f"{seed}/organisations")
    ent_rng = random.Random(seed)
    lic_rng = random.Random(f"{seed}/licences")
    now = timezone.now()
    today = timezone.localdate()

    with transaction.atomic():
        places = _Places()
        divisions = set(Industry.objects.filter(level="division").values_list("code", flat=True))
        _say(stdout, "Creating regulators and industry departments…")
        orgs = _ensure_organisations(places, org_rng)

        taken_codes = set(Enterprise.objects.values_list("credit_code", flat=True))
        used_names = set(Enterprise.objects.values_list("name", flat=True))

        # The named enterprise the enterprise demo accounts belong to (first, so its code is stable).
        chem = Enterprise.objects.filter(name=CHEM_ENTERPRISE, county_id=CHEM_COUNTY).first()
        chem_code = _credit_code(ent_rng, CHEM_COUNTY, taken_codes)
        if chem is None:
            nanpu = next((code for code, name in places.townships[CHEM_COUNTY] if name == "南埔镇"), None)
            lng, lat = geo.random_point_in_county(CHEM_COUNTY, ent_rng)
            chem = make_enterprise(
                CHEM_ENTERPRISE, CHEM_COUNTY, industry="25", key_class=K.HAZCHEM, township=nanpu,
                credit_code=chem_code, with_org=True,
                legal_representative="黄建国", legal_representative_phone="13905951234",
                principal="黄建国", principal_phone="13905951234",
                safety_manager="陈志远", safety_manager_phone="13859981234",
                address=f"{places.county_full_name(CHEM_COUNTY)}{places.name.get(nanpu, '')}石化路8号",
                lng=Decimal(f"{lng:.6f}"), lat=Decimal(f"{lat:.6f}"),
                scale=Scale.ABOVE, employees=1260, tier=SupervisionTier.PROVINCE,
                created_at=now - datetime.timedelta(days=6 * 365),
            )
            used_names.add(chem.name)
        elif chem.organisation is None:
            chem.organisation = Organisation.objects.create(name=chem.name, kind=OrganisationKind.ENTERPRISE,
                                                            jurisdiction_id=CHEM_COUNTY)
            chem.save(update_fields=["organisation"])

        _say(stdout, f"Creating {enterprises} enterprises…")
        planned = []
        for county, count in _county_counts(places, enterprises).items():
            for _ in range(count):
                planned.append(_plan_enterprise(ent_rng, places, county, divisions, used_names, taken_codes, now))
        Enterprise.objects.bulk_create(planned, batch_size=500)
        if any(e.pk is None for e in planned):  # backends that do not return ids from bulk inserts
            ids = dict(Enterprise.objects.filter(credit_code__in=[e.credit_code for e in planned])
                       .values_list("credit_code", "id"))
            for e in planned:
                e.pk = ids[e.credit_code]

        _say(stdout, "Creating licences…")
        seq: dict[str, int] = {}
        licences = [lic for ent in [chem, *planned] if ent.key_class in LICENSED_CLASSES
                    for lic in _licences_for(lic_rng, ent, places, today, seq)]
        if chem.licences.exists():  # the named enterprise was already there (with its licences)
            licences = [lic for lic in licences if lic.enterprise_id != chem.pk]
        Licence.objects.bulk_create(licences, batch_size=1000)

        _say(stdout, "Creating demo accounts…")
        orgs["chem"] = chem.organisation
        _create_accounts(orgs, now)

    counts = {"organisations": len(orgs), "enterprises": len(planned) + 1, "licences": len(licences)}
    return {"created": True, "accounts": demo_accounts(), "counts": counts}


def _create_accounts(orgs: dict, now) -> None:
    from django.contrib.auth.hashers import make_password

    # One hash for the shared, published demo password (hashing each user separately costs ~0.5 s
    # apiece for the same secret); each account still gets its password history entry.
    encoded = make_password(DEMO_PASSWORD)
    existing = set(User.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS]).values_list("username", flat=True))
    created = []
    for username, role, key, full_name in DEMO_ACCOUNTS:
        if username in existing:
            continue
        user = make_user(username, orgs[key], [role], full_name=full_name)
        user.password, user.password_changed_at = encoded, now
        user.save(update_fields=["password", "password_changed_at"])
        created.append(user)
    PasswordHistory.objects.bulk_create([PasswordHistory(user=u, password=encoded, created_at=now) for u in created])
