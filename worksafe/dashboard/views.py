"""Landing page per role, map data, health check."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count
from django.db.models.functions import Substr
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from worksafe.core.choices import LEVEL_WIDTH, KeyIndustry
from worksafe.core.geo_data import counties_geojson
from worksafe.core.models import Jurisdiction
from worksafe.core.roles import ADMIN_ROLES, ROLE_LABELS
from worksafe.enterprises.models import Enterprise
from worksafe.hazards.choices import HazardStatus, ListingStatus
from worksafe.hazards.models import Hazard, Listing
from worksafe.hazards.views import escalated_to


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
            "breakdown": breakdown(qs, user.jurisdiction),
            "hazards": hazard_figures(user),
        }
        return render(request, "dashboard/home.html", ctx)


def hazard_figures(user) -> dict | None:
    """Overdue hazards, overdue 挂牌督办 listings in the user's place, and listings escalated to the user's
    level (overdue one level below): three counts for the landing page, None without hazard access."""
    if not user.has_perm("hazards.view_hazard"):
        return None
    today = timezone.localdate()
    return {
        "overdue_hazards": Hazard.objects.visible_to(user).exclude(status=HazardStatus.CLOSED)
        .filter(deadline__lt=today).count(),
        "overdue_listings": Listing.objects.visible_to(user).filter(status=ListingStatus.LISTED,
                                                                    deadline__lt=today).count(),
        "escalated": len(escalated_to(user)),
    }


def breakdown(qs, jurisdiction) -> list[dict]:
    """Enterprises per division one level below `jurisdiction` (cities of the province, counties of a
    city). At province level the reporting groups (平潭综合实验区) are listed too, marked as contained in
    their city so that nobody adds them up twice."""
    if jurisdiction is None or len(jurisdiction.code) not in (LEVEL_WIDTH["province"], LEVEL_WIDTH["city"]):
        return []
    width = LEVEL_WIDTH["city"] if len(jurisdiction.code) == LEVEL_WIDTH["province"] else LEVEL_WIDTH["county"]
    counts = dict(qs.annotate(part=Substr("county_id", 1, width)).values_list("part").annotate(n=Count("id")))
    rows = [{"code": j.code, "name": j.name, "n": counts.get(j.code, 0), "group": False}
            for j in Jurisdiction.objects.filter(parent=jurisdiction).order_by("code")]
    if width == LEVEL_WIDTH["city"]:
        groups: dict[str, list[str]] = {}
        for code, group in Jurisdiction.objects.filter(level="county").exclude(reporting_group="").values_list(
                "code", "reporting_group"):
            groups.setdefault(group, []).append(code)
        for group, codes in groups.items():
            rows.append({"code": codes[0], "name": group, "n": qs.filter(county_id__in=codes).count(), "group": True})
    return rows


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
