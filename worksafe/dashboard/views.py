"""Landing page per role, map data, health check."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views import View

from worksafe.core.choices import KeyIndustry
from worksafe.core.geo_data import counties_geojson
from worksafe.core.models import Jurisdiction
from worksafe.core.roles import ADMIN_ROLES, ROLE_LABELS
from worksafe.enterprises.models import Enterprise


class HomeView(LoginRequiredMixin, View):
    """The landing page: figures for the user's place, a Fujian map coloured by county."""

    def get(self, request):
        user = request.user
        if user.roles & ADMIN_ROLES and not user.has_perm("enterprises.view_enterprise"):
            return render(request, "dashboard/home_admin.html", {"roles": [ROLE_LABELS[r] for r in user.roles]})
        if user.is_enterprise_user and getattr(user.organisation, "enterprise", None):
            return redirect("enterprises:enterprise_detail", pk=user.organisation.enterprise.pk)
        qs = Enterprise.objects.visible_to(user)
        by_class = list(qs.values("key_class").annotate(n=Count("id")).order_by("-n"))
        labels = dict(KeyIndustry.choices)
        ctx = {
            "total": sum(r["n"] for r in by_class),
            "by_class": [{"code": r["key_class"], "label": str(labels.get(r["key_class"], r["key_class"])), "n": r["n"]}
                         for r in by_class],
            "by_status": dict(qs.values_list("status").annotate(n=Count("id"))),
            "jurisdiction": user.jurisdiction,
            "roles": [ROLE_LABELS.get(r, r) for r in sorted(user.roles)],
            "key_classes": [(c.value, str(c.label)) for c in KeyIndustry],
        }
        return render(request, "dashboard/home.html", ctx)


class CountyMapDataView(LoginRequiredMixin, View):
    """Enterprises per county in the user's scope (optionally one key class), for the ECharts map."""

    def get(self, request):
        qs = Enterprise.objects.visible_to(request.user)
        if request.GET.get("key_class"):
            qs = qs.filter(key_class=request.GET["key_class"])
        counts = dict(qs.values_list("county_id").annotate(n=Count("id")))
        names = dict(Jurisdiction.objects.filter(level="county").values_list("code", "name"))
        return JsonResponse({"counties": [{"code": c, "name": names.get(c, c), "value": n} for c, n in counts.items()]})


class CountyGeoJsonView(View):
    """The Fujian county boundaries (public reference data, cached by the browser)."""

    def get(self, request):
        response = HttpResponse(counties_geojson(), content_type="application/geo+json")
        response["Cache-Control"] = "public, max-age=86400"
        return response
