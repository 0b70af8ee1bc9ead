"""Choices shared by every app: jurisdiction levels, organisation kinds, key-industry classes."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class JurisdictionLevel(models.TextChoices):
    PROVINCE = "province", pgettext_lazy("jurisdiction level", "Province")  # 省, 2-digit code
    CITY = "city", pgettext_lazy("jurisdiction level", "City")  # 设区市, 4-digit code
    COUNTY = "county", pgettext_lazy("jurisdiction level", "County")  # 县(市、区), 6-digit code
    TOWNSHIP = "township", pgettext_lazy("jurisdiction level", "Township")  # 乡镇(街道), 9-digit code


# GB/T 2260 prefix widths per level: cut a code by width, never by stripping zeros.
LEVEL_WIDTH = {"province": 2, "city": 4, "county": 6, "township": 9}


class OrganisationKind(models.TextChoices):
    EMERGENCY = "emergency", _("Emergency management department")  # 应急管理部门: comprehensive supervision
    INDUSTRY = "industry", _("Industry department")  # 行业主管部门: 管行业必须管安全
    ENTERPRISE = "enterprise", _("Enterprise")  # 生产经营单位
    AGENCY = "agency", _("Third-party service agency")  # 第三方技术服务机构
    RESCUE_TEAM = "rescue_team", _("Rescue team")  # 应急救援队伍


class Department(models.TextChoices):
    """Which government department an industry-department organisation is (行业主管部门)."""

    EMERGENCY = "emergency", _("Emergency management")
    HOUSING = "housing", _("Housing and urban-rural development")
    TRANSPORT = "transport", _("Transport")
    FIRE = "fire", _("Fire and rescue")
    OCEAN_FISHERY = "ocean_fishery", _("Ocean and fisheries")
    MARKET = "market", _("Market regulation (special equipment)")
    NATURAL_RESOURCES = "natural_resources", _("Natural resources")
    INDUSTRY_IT = "industry_it", _("Industry and information technology")
    EDUCATION = "education", _("Education")
    CULTURE_TOURISM = "culture_tourism", _("Culture and tourism")
    AGRICULTURE = "agriculture", _("Agriculture and rural affairs")
    PUBLIC_SECURITY = "public_security", _("Public security")
    WATER = "water", _("Water resources")
    ELECTRICITY = "electricity", _("Energy and electricity")


class KeyIndustry(models.TextChoices):
    """Key-industry class of an enterprise (重点行业领域), the unit of 管行业必须管安全."""

    HAZCHEM = "hazchem", _("Hazardous chemicals")  # 危险化学品
    NONCOAL_MINE = "noncoal_mine", _("Non-coal mines")  # 非煤矿山
    COAL_MINE = "coal_mine", _("Coal mines")  # 煤矿
    FIREWORKS = "fireworks", _("Fireworks")  # 烟花爆竹
    METALLURGY = "metallurgy", _("Metal smelting")  # 金属冶炼
    DUST = "dust", _("Combustible dust")  # 粉尘涉爆
    AMMONIA = "ammonia", _("Ammonia refrigeration")  # 涉氨制冷
    CONFINED_SPACE = "confined_space", _("Confined spaces")  # 有限空间
    TRADE_OTHER = "trade_other", _("Industry and trade, other")  # 工贸其他
    CONSTRUCTION = "construction", _("Building construction")  # 建筑施工
    ROAD_TRANSPORT = "road_transport", _("Road transport")  # 道路运输
    WATER_TRANSPORT = "water_transport", _("Waterway transport")  # 水上运输
    FISHERY = "fishery", _("Fishery")  # 渔业
    EXPLOSIVES = "explosives", _("Civil explosives")  # 民用爆炸物品
    SPECIAL_EQUIPMENT = "special_equipment", _("Special equipment users")  # 特种设备使用
    GAS = "gas", _("Urban gas")  # 城镇燃气
    CROWDED_PLACE = "crowded_place", _("Crowded places")  # 人员密集场所
    OTHER = "other", _("Other")  # 其他


# 管行业必须管安全: the key-industry classes each department supervises by default.
DEPARTMENT_CLASSES = {
    Department.EMERGENCY: [
        KeyIndustry.HAZCHEM, KeyIndustry.NONCOAL_MINE, KeyIndustry.COAL_MINE, KeyIndustry.FIREWORKS,
        KeyIndustry.METALLURGY, KeyIndustry.DUST, KeyIndustry.AMMONIA, KeyIndustry.CONFINED_SPACE,
        KeyIndustry.TRADE_OTHER,
    ],
    Department.HOUSING: [KeyIndustry.CONSTRUCTION, KeyIndustry.GAS],
    Department.TRANSPORT: [KeyIndustry.ROAD_TRANSPORT, KeyIndustry.WATER_TRANSPORT],
    Department.OCEAN_FISHERY: [KeyIndustry.FISHERY],
    Department.MARKET: [KeyIndustry.SPECIAL_EQUIPMENT],
    Department.INDUSTRY_IT: [KeyIndustry.EXPLOSIVES],
    Department.NATURAL_RESOURCES: [KeyIndustry.NONCOAL_MINE],
    Department.FIRE: [KeyIndustry.CROWDED_PLACE],
    Department.CULTURE_TOURISM: [KeyIndustry.CROWDED_PLACE],
    Department.EDUCATION: [KeyIndustry.CROWDED_PLACE],
    Department.AGRICULTURE: [KeyIndustry.FISHERY],
    Department.PUBLIC_SECURITY: [KeyIndustry.EXPLOSIVES, KeyIndustry.FIREWORKS],
    Department.WATER: [KeyIndustry.OTHER],
    Department.ELECTRICITY: [KeyIndustry.OTHER],
}
