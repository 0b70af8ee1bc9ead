from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from worksafe.core.generic import (
    ScopedDeleteView,
    ScopedDetailView,
    ScopedEditView,
    ScopedImportView,
    ScopedListView,
)
from worksafe.enterprises.filters import EnterpriseFilterSet, LicenceFilterSet
from worksafe.enterprises.forms import EnterpriseForm, EnterpriseImporter, LicenceForm
from worksafe.enterprises.models import Enterprise, Licence

ENTERPRISE_COLUMNS = ["name", "credit_code", "county__name", "industry__name", "key_class", "scale", "tier",
                      "status"]


class EnterpriseListView(ScopedListView):
    model = Enterprise
    filterset_class = EnterpriseFilterSet
    columns = ENTERPRISE_COLUMNS
    export_columns = [*ENTERPRISE_COLUMNS[:3], "township__name", ("industry__code", _("Industry code")),
                      *ENTERPRISE_COLUMNS[3:],
                      "employees", "legal_representative", "legal_representative_phone", "principal",
                      "principal_phone", "safety_manager", "safety_manager_phone", "address", "lng", "lat"]
    select_related = ["county", "industry"]


class EnterpriseDetailView(ScopedDetailView):
    model = Enterprise
    template_name = "enterprises/enterprise_detail.html"
    fields = ["name", "credit_code", "county__name", "township__name", "address", "industry", "key_class", "scale",
              "employees", "tier", "status", "legal_representative", "legal_representative_phone", "principal",
              "principal_phone", "safety_manager", "safety_manager_phone", "lng", "lat", "updated_at"]

    # 一企一档: each module's list, filtered to this enterprise, loads into its own tab (by URL name, so
    # this app imports none of them; each list applies the scoping rule itself).
    MODULE_TABS = [
        ("majorhazards", _("Major hazard sources"), "majorhazards:majorhazard_list", "majorhazards.view_majorhazard"),
        ("risks", _("Risk points"), "risks:riskpoint_list", "risks.view_riskpoint"),
        ("hazards", _("Hazards"), "hazards:hazard_list", "hazards.view_hazard"),
        ("checks", _("Check records"), "checks:checkrecord_list", "checks.view_checkrecord"),
        ("reports", _("Hazard reports"), "hazards:hazardreport_list", "hazards.view_hazardreport"),
    ]

    def get_context(self, obj):
        user = self.request.user
        licences = Licence.objects.visible_to(user).filter(enterprise=obj)
        modules = []
        for key, label, url_name, perm in self.MODULE_TABS:
            if not user.has_perm(perm):
                continue
            try:
                modules.append((key, label, f"{reverse(url_name)}?enterprise={obj.pk}"))
            except NoReverseMatch:
                continue
        return {"licences": licences, "tabs": [("licences", _("Licences"))], "module_tabs": modules}


class EnterpriseEditView(ScopedEditView):
    model = Enterprise
    form_class = EnterpriseForm


class EnterpriseDeleteView(ScopedDeleteView):
    model = Enterprise


class EnterpriseImportView(ScopedImportView):
    model = Enterprise
    importer_class = EnterpriseImporter


class LicenceListView(ScopedListView):
    model = Licence
    filterset_class = LicenceFilterSet
    columns = ["enterprise__name", "kind", "number", "issuer", "issued_on", "expires_on", "state"]
    select_related = ["enterprise"]


class LicenceDetailView(ScopedDetailView):
    model = Licence
    fields = ["enterprise", "kind", "number", "issuer", "issued_on", "expires_on", "state"]


class LicenceEditView(ScopedEditView):
    model = Licence
    form_class = LicenceForm


class LicenceDeleteView(ScopedDeleteView):
    model = Licence
