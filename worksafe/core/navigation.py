"""Role-aware navigation: the four platforms as top-level sections; items hidden without permission."""

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Item:
    label: str
    url_name: str
    perm: str
    icon: str = ""


@dataclass(frozen=True)
class Section:
    label: str
    icon: str
    items: list = field(default_factory=list)


# 一张网四平台. Later modules add their items to the platform they belong to.
MENU = [
    Section(_("Integrated information"), "ti-building-community", [  # 安全生产综合信息平台
        Item(_("Enterprises"), "enterprises:enterprise_list", "enterprises.view_enterprise", "ti-building-factory"),
        Item(_("Licences"), "enterprises:licence_list", "enterprises.view_licence", "ti-license"),
    ]),
    Section(_("Major risk control"), "ti-flame", [  # 重大安全风险管控平台
        Item(_("Major hazard sources"), "majorhazards:majorhazard_list", "majorhazards.view_majorhazard",
             "ti-flask"),
        Item(_("Major hazard sources map"), "majorhazards:map", "majorhazards.view_majorhazard", "ti-map-pin"),
        Item(_("Overdue major hazard duties"), "majorhazards:overdue", "majorhazards.view_majorhazard", "ti-clock"),
        Item(_("GB 18218-2018 substance catalogue"), "majorhazards:catalogue", "majorhazards.view_majorhazard",
             "ti-list-details"),
        Item(_("Risk points"), "risks:riskpoint_list", "risks.view_riskpoint", "ti-alert-triangle"),
        Item(_("Risk map"), "risks:map", "risks.view_riskpoint", "ti-map-2"),
    ]),
    Section(_("Online monitoring"), "ti-activity-heartbeat", [  # 在线监测预警 (part of the major risk platform)
        Item(_("Live board"), "monitoring:board", "monitoring.view_alarm", "ti-device-desktop-analytics"),
        Item(_("Alarms"), "monitoring:alarm_list", "monitoring.view_alarm", "ti-bell-ringing"),
        Item(_("Monitoring points"), "monitoring:point_list", "monitoring.view_point", "ti-gauge"),
        Item(_("Gateways"), "monitoring:gateway_list", "monitoring.view_gateway", "ti-router"),
        Item(_("Data quality"), "monitoring:quality", "monitoring.view_qualityevent", "ti-chart-dots"),
        Item(_("Data-quality events"), "monitoring:qualityevent_list", "monitoring.view_qualityevent",
             "ti-plug-connected-x"),
        Item(_("Warning levels"), "monitoring:warnings", "monitoring.view_enterprisewarning", "ti-traffic-lights"),
        Item(_("Rejected messages"), "monitoring:deadletter_list", "monitoring.view_deadletter", "ti-mail-x"),
    ]),
    Section(_("Hazard investigation"), "ti-zoom-check", [  # 隐患排查治理信息平台
        Item(_("Hazards"), "hazards:hazard_list", "hazards.view_hazard", "ti-alert-octagon"),
        Item(_("Check tasks"), "checks:checktask_list", "checks.view_checktask", "ti-checklist"),
        Item(_("Check records"), "checks:checkrecord_list", "checks.view_checkrecord", "ti-clipboard-check"),
        Item(_("Checklists"), "checks:checklist_list", "checks.view_checklist", "ti-list-check"),
        Item(_("Check plans"), "checks:checkplan_list", "checks.view_checkplan", "ti-calendar-repeat"),
        Item(_("Formalism flags"), "checks:flags", "checks.view_formalismflag", "ti-eye-exclamation"),
        Item(_("Hazard reports"), "hazards:hazardreport_list", "hazards.view_hazardreport", "ti-report"),
        Item(_("Hazard statistics"), "hazards:statistics", "hazards.view_hazard", "ti-chart-bar"),
        Item(_("Supervision listings"), "hazards:listing_list", "hazards.view_listing", "ti-flag"),
        Item(_("Escalated listings"), "hazards:escalated", "hazards.view_listing", "ti-arrow-big-up-lines"),
    ]),
    Section(_("Emergency command"), "ti-urgent", []),  # 安全生产应急救援指挥平台
    Section(_("Administration"), "ti-settings", [
        Item(_("Users"), "core:user_list", "core.view_user", "ti-users"),
        Item(_("Audit log"), "core:audit_list", "core.view_auditentry", "ti-list-search"),
    ]),
]


def _url(name):
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def menu(request):
    """Context processor: the sections and items this user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": []}
    sections = []
    for section in MENU:
        items = [(item, url) for item in section.items if user.has_perm(item.perm) and (url := _url(item.url_name))]
        sections.append({"label": section.label, "icon": section.icon, "items": items})
    return {"menu": sections}
