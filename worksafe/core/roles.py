"""Roles: each is an auth Group with a fixed set of permissions (what a user may do).

Where a user may do it comes from the organisation (see core/scoping.py). Every app adds its
permissions here, as "app_label.codename" strings, so the whole matrix reads in one place.
"""

from django.utils.translation import gettext_lazy as _

ENTERPRISE_STAFF = "enterprise_staff"
ENTERPRISE_HEAD = "enterprise_head"
REGULATOR_STAFF = "regulator_staff"
REGULATOR_LEADER = "regulator_leader"
INDUSTRY_STAFF = "industry_staff"
INSPECTOR = "inspector"
COMMANDER = "commander"
SYSTEM_ADMIN = "system_admin"
SECURITY_ADMIN = "security_admin"
AUDIT_ADMIN = "audit_admin"

ROLE_LABELS = {
    ENTERPRISE_STAFF: _("Enterprise staff"),
    ENTERPRISE_HEAD: _("Enterprise head"),
    REGULATOR_STAFF: _("Regulator staff"),
    REGULATOR_LEADER: _("Regulator leader"),
    INDUSTRY_STAFF: _("Industry department staff"),
    INSPECTOR: _("Inspector"),
    COMMANDER: _("Emergency commander"),
    SYSTEM_ADMIN: _("System administrator"),
    SECURITY_ADMIN: _("Security administrator"),
    AUDIT_ADMIN: _("Audit administrator"),
}

# 三权分立 (GB/T 22239 8.1.5): no person holds two of these.
ADMIN_ROLES = frozenset({SYSTEM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN})

_ENTERPRISE_READ = ["enterprises.view_enterprise", "enterprises.view_licence", "core.view_jurisdiction"]
_ENTERPRISE_WRITE = ["enterprises.change_enterprise", "enterprises.add_licence", "enterprises.change_licence",
                     "enterprises.delete_licence"]
_REGISTRY_WRITE = ["enterprises.add_enterprise", "enterprises.change_enterprise", "enterprises.delete_enterprise",
                   "enterprises.import_enterprise", *_ENTERPRISE_WRITE[1:]]

# Major hazard sources (重大危险源): the enterprise keeps the registry; the regulator files and deregisters.
_MH_CHILDREN = ["substance", "custodian", "custodiancheck", "change"]
_MH_READ = ["majorhazards.view_majorhazard", "majorhazards.view_assessment",
            *[f"majorhazards.view_{m}" for m in _MH_CHILDREN]]
_MH_KEEP = ["majorhazards.add_majorhazard", "majorhazards.change_majorhazard", "majorhazards.delete_majorhazard",
            *[f"majorhazards.{a}_{m}" for m in _MH_CHILDREN for a in ("add", "change", "delete")]]
_MH_REGULATE = ["majorhazards.file_majorhazard", "majorhazards.deregister_majorhazard",
                "majorhazards.export_majorhazard", "majorhazards.import_majorhazard"]

# Risk grading (风险分级管控): the enterprise identifies, assesses and controls; regulators read and export.
_RISK_MODELS = ["riskpoint", "riskassessment", "controlmeasure"]
_RISK_READ = [f"risks.view_{m}" for m in _RISK_MODELS]
_RISK_KEEP = [f"risks.{a}_{m}" for m in _RISK_MODELS for a in ("add", "change", "delete")] + ["risks.import_riskpoint"]
_RISK_REGULATE = ["risks.export_riskpoint"]

# Hazard investigation (隐患排查治理): the closed loop inside the enterprise, 挂牌督办 by regulators.
_HZ_READ = ["hazards.view_hazard", "hazards.view_listing", "hazards.view_hazardreport"]
_HZ_ENT_STAFF = ["hazards.add_hazard", "hazards.rectify_hazard"]
_HZ_ENT_HEAD = [*_HZ_ENT_STAFF, "hazards.change_hazard", "hazards.delete_hazard", "hazards.assign_hazard",
                "hazards.reject_hazard", "hazards.verify_hazard", "hazards.import_hazard", "hazards.export_hazard",
                "hazards.add_hazardreport", "hazards.change_hazardreport", "hazards.submit_hazardreport"]
_HZ_REGULATE = ["hazards.add_hazard", "hazards.list_hazard", "hazards.verify_hazard", "hazards.reject_hazard",
                "hazards.export_hazard", "hazards.export_hazardreport"]

# Hazard checks (隐患排查): checklists, plans, tasks and records kept by the enterprise; regulators read them
# and see the anti-formalism flags.
_CK_MODELS = ["checklist", "checklistitem", "checkplan", "checktask", "checkrecord", "checkresult"]
_CK_READ = [f"checks.view_{m}" for m in _CK_MODELS] + ["checks.view_formalismflag"]
_CK_DO = ["checks.add_checkrecord", "checks.change_checkrecord", "checks.add_checkresult", "checks.change_checkresult"]
_CK_KEEP = [f"checks.{a}_{m}" for m in _CK_MODELS for a in ("add", "change", "delete")] + ["checks.export_checkrecord"]

# Online monitoring (在线监测预警): the enterprise keeps gateways and points and answers its alarms;
# regulators watch, acknowledge escalated alarms and export.
_MON_READ = [f"monitoring.view_{m}" for m in ("gateway", "point", "alarm", "qualityevent", "enterprisewarning",
                                               "deadletter")]
_MON_ACK = ["monitoring.acknowledge_alarm", "monitoring.acknowledge_cleared_alarm", "monitoring.comment_alarm"]
_MON_KEEP = [f"monitoring.{a}_{m}" for m in ("gateway", "point") for a in ("add", "change", "delete")] + [
    "monitoring.import_point", "monitoring.export_point", "monitoring.assign_alarm", "monitoring.export_alarm"]
_MON_REGULATE = [*_MON_ACK, "monitoring.export_point", "monitoring.export_alarm"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ENTERPRISE_STAFF: [*_ENTERPRISE_READ, *_MH_READ, "majorhazards.add_custodiancheck", *_RISK_READ, *_HZ_READ,
                       *_HZ_ENT_STAFF, *_CK_READ, *_CK_DO, *_MON_READ, *_MON_ACK],
    ENTERPRISE_HEAD: [*_ENTERPRISE_READ, *_ENTERPRISE_WRITE, *_MH_READ, *_MH_KEEP, "majorhazards.import_majorhazard",
                      *_RISK_READ, *_RISK_KEEP, *_RISK_REGULATE, *_HZ_READ, *_HZ_ENT_HEAD, *_CK_READ, *_CK_KEEP,
                      *_MON_READ, *_MON_ACK, *_MON_KEEP],
    REGULATOR_STAFF: [*_ENTERPRISE_READ, *_REGISTRY_WRITE, "enterprises.export_enterprise", *_MH_READ, *_MH_KEEP,
                      *_MH_REGULATE, *_RISK_READ, *_RISK_REGULATE, *_HZ_READ, *_HZ_REGULATE, *_CK_READ,
                      "checks.export_checkrecord", *_MON_READ, *_MON_REGULATE],
    REGULATOR_LEADER: [*_ENTERPRISE_READ, *_REGISTRY_WRITE, "enterprises.export_enterprise", *_MH_READ, *_MH_KEEP,
                       *_MH_REGULATE, *_RISK_READ, *_RISK_REGULATE, *_HZ_READ, *_HZ_REGULATE, *_CK_READ,
                      "checks.export_checkrecord", *_MON_READ, *_MON_REGULATE],
    INDUSTRY_STAFF: [*_ENTERPRISE_READ, "enterprises.export_enterprise", *_MH_READ, *_RISK_READ, *_RISK_REGULATE,
                     *_HZ_READ, *_HZ_REGULATE, *_CK_READ, *_MON_READ],
    INSPECTOR: [*_ENTERPRISE_READ, *_MH_READ, *_RISK_READ, *_HZ_READ, "hazards.add_hazard", *_CK_READ, *_MON_READ],
    COMMANDER: [*_ENTERPRISE_READ, *_MH_READ, *_RISK_READ, *_HZ_READ, *_MON_READ],
    SYSTEM_ADMIN: ["core.view_user", "core.add_user", "core.change_user", "core.view_organisation",
                   "core.add_organisation", "core.change_organisation", "core.view_jurisdiction"],
    SECURITY_ADMIN: ["core.view_user", "core.assign_roles", "core.unlock_user"],
    AUDIT_ADMIN: ["core.view_auditentry", "core.verify_auditentry"],
}


def sync_roles(**kwargs) -> None:
    """Create or update one Group per role with exactly its permissions (post_migrate)."""
    from django.contrib.auth.models import Group, Permission

    perms = {f"{p.content_type.app_label}.{p.codename}": p
             for p in Permission.objects.select_related("content_type")}
    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([perms[n] for n in names if n in perms])
