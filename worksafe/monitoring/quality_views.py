"""Data-quality scores for regulators, enterprise warning levels with their reasons, and the in-app inbox.

Names (namespace "monitoring"): quality, warnings, warning_detail, inbox. Every query starts from the
scoping rule (Point / EnterpriseWarning `visible_to`); the inbox shows only the user's own notifications.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

import django_filters
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from worksafe.core import audit, excel
from worksafe.core.filters import JurisdictionFilter, ScopedFilterSet, text_search
from worksafe.core.models import AuditEntry
from worksafe.core.scoping import get_visible_or_404
from worksafe.enterprises.models import Enterprise
from worksafe.monitoring import rules
from worksafe.monitoring.choices import EscalationLevel, QualityKind, WarningColour
from worksafe.monitoring.models import Alarm, EnterpriseWarning, Gateway, Notification, Point, QualityEvent

WINDOWS = [(1, gettext_lazy("Last 24 hours")), (7, gettext_lazy("Last 7 days")), (30, gettext_lazy("Last 30 days"))]
COLOUR_CSS = {"red": "bg-red text-red-fg", "orange": "bg-orange text-orange-fg", "yellow": "bg-yellow text-yellow-fg",
              "blue": "bg-blue text-blue-fg", "none": "bg-secondary-lt"}


# --- data-quality score ------------------------------------------------------------------------------------

@dataclass
class QualityRow:
    """One enterprise's data quality over the window (a row of the page and of the Excel export)."""

    enterprise: object
    points: int = 0
    uptime: float = 1.0  # 0–1: 1 − point-time without data / point-time in the window
    interruptions: int = 0  # interruption events overlapping the window
    open_interruptions: int = 0
    never_connected: int = 0  # gateways that have never sent anything
    alarms: int = 0  # raised in the window
    acknowledged: int = 0  # of those, acknowledged (处置)
    alarms_per_point_day: float = 0.0
    score: float = 100.0

    @property
    def county(self):
        return self.enterprise.county

    @property
    def online_rate(self) -> float:
        return round(100 * self.uptime, 1)

    @property
    def handling_rate(self) -> float | None:
        return round(100 * self.acknowledged / self.alarms, 1) if self.alarms else None


def quality_rows(enterprises, start: datetime.datetime, end: datetime.datetime) -> list[QualityRow]:
    """QualityRow per enterprise (with active points), worst score first; a handful of grouped queries."""
    ents = {e.pk: e for e in enterprises}
    window_s = max(1.0, (end - start).total_seconds())
    days = window_s / 86400
    points_by_gw: dict[int, int] = defaultdict(int)
    rows: dict[int, QualityRow] = {}
    for r in Point.objects.filter(enterprise_id__in=list(ents), active=True).values(
            "enterprise_id", "gateway_id").annotate(n=Count("pk")):
        row = rows.setdefault(r["enterprise_id"], QualityRow(ents[r["enterprise_id"]]))
        row.points += r["n"]
        points_by_gw[r["gateway_id"]] += r["n"]
    offline: dict[int, float] = defaultdict(float)  # point-seconds without data
    for gw in Gateway.objects.filter(pk__in=list(points_by_gw), last_seen_at__isnull=True).values("id", "enterprise_id"):
        rows[gw["enterprise_id"]].never_connected += 1
        offline[gw["enterprise_id"]] += points_by_gw[gw["id"]] * window_s
    events = QualityEvent.objects.filter(enterprise_id__in=list(rows), kind=QualityKind.INTERRUPTION,
                                         started_at__lt=end).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
    for ev in events.values("enterprise_id", "gateway_id", "point_id", "started_at", "ended_at", "is_open"):
        row = rows[ev["enterprise_id"]]
        row.interruptions += 1
        row.open_interruptions += ev["is_open"]
        overlap = (min(end, ev["ended_at"] or end) - max(start, ev["started_at"])).total_seconds()
        weight = 1 if ev["point_id"] else points_by_gw.get(ev["gateway_id"], 0)
        offline[ev["enterprise_id"]] += max(0.0, overlap) * weight
    for r in Alarm.objects.filter(enterprise_id__in=list(rows), raised_at__gte=start, raised_at__lt=end).values(
            "enterprise_id").annotate(n=Count("pk"), ack=Count("pk", filter=Q(acknowledged_at__isnull=False))):
        rows[r["enterprise_id"]].alarms, rows[r["enterprise_id"]].acknowledged = r["n"], r["ack"]
    weights = settings.MONITORING_QUALITY_WEIGHTS
    for ent_id, row in rows.items():
        row.uptime = max(0.0, min(1.0, 1 - offline[ent_id] / (row.points * window_s)))
        row.alarms_per_point_day = round(row.alarms / row.points / days, 2)
        row.score = rules.quality_score(row.uptime, row.interruptions, row.alarms_per_point_day, weights=weights)
    return sorted(rows.values(), key=lambda r: (r.score, r.uptime, r.enterprise.name))


class QualityFilterSet(ScopedFilterSet):
    jurisdiction = JurisdictionFilter(code_path="county__code")
    q = django_filters.CharFilter(label=gettext_lazy("Search"), method=text_search(["name", "credit_code"]))
    days = django_filters.ChoiceFilter(label=gettext_lazy("Window"), choices=WINDOWS, empty_label=None,
                                       method=lambda qs, name, value: qs)  # read by the view

    class Meta:
        model = Enterprise
        fields: list = []


QUALITY_COLUMNS = [
    ("enterprise", gettext_lazy("enterprise")), ("county", gettext_lazy("county")),
    ("points", gettext_lazy("Points")), ("online_rate", gettext_lazy("Online rate (%)")),
    ("interruptions", gettext_lazy("Interruptions")), ("never_connected", gettext_lazy("Gateways never connected")),
    ("alarms", gettext_lazy("Alarms")), ("alarms_per_point_day", gettext_lazy("Alarms per point per day")),
    ("handling_rate", gettext_lazy("Alarm handling rate (%)")), ("score", gettext_lazy("Data quality score")),
]


class QualityView(LoginRequiredMixin, View):
    """Per-enterprise data quality (uptime, interruptions, alarm noise) for regulators, worst first."""

    def get(self, request):
        user = request.user
        if not user.has_perm("monitoring.view_qualityevent"):
            raise PermissionDenied
        monitored = Point.objects.visible_to(user, "view").filter(active=True).values("enterprise_id")
        base = Enterprise.objects.filter(pk__in=monitored).select_related("county")
        data = request.GET.copy()
        days = _int(data.get("days"))
        days = days if days in dict(WINDOWS) else 7
        data["days"] = str(days)
        filterset = QualityFilterSet(data, queryset=base, request=request)
        end = timezone.now()
        start = end - datetime.timedelta(days=days)
        rows = quality_rows(filterset.qs, start, end)
        if request.GET.get("export") == "xlsx":
            audit.record(AuditEntry.Action.EXPORT, object_type="monitoring.quality",
                         detail=_("{n} rows; filters: {f}").format(n=len(rows), f=request.GET.urlencode())[:500])
            columns = [excel.Column(p, h) for p, h in QUALITY_COLUMNS]
            return excel.export_response(f"{_('Data quality')}-{timezone.localdate().isoformat()}.xlsx", columns, rows)
        points = sum(r.points for r in rows)
        alarms = sum(r.alarms for r in rows)
        headline = {
            "enterprises": len(rows), "points": points,
            "online_rate": round(100 * sum(r.uptime * r.points for r in rows) / points, 1) if points else None,
            "handling_rate": round(100 * sum(r.acknowledged for r in rows) / alarms, 1) if alarms else None,
            "alarms": alarms, "open_interruptions": sum(r.open_interruptions for r in rows),
        }
        query = request.GET.copy()
        query.pop("page", None)
        page = Paginator(rows, settings.PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "monitoring/quality.html", {
            "filterset": filterset, "page": page, "rows": page.object_list, "headline": headline, "days": days,
            "start": start, "end": end, "querystring": query.urlencode(),
            "weights": settings.MONITORING_QUALITY_WEIGHTS})


# --- warning levels ------------------------------------------------------------------------------------------

def explain(reason: dict, inputs: dict) -> str:
    """One reason of a warning level in words (Chinese through gettext), with its value and weight."""
    from worksafe.majorhazards.models import MajorHazard

    weights, values = inputs.get("weights", {}), inputs.get("values", {})
    factor, value, effect = reason.get("factor"), reason.get("value"), reason.get("effect")
    colour = dict(WarningColour.choices).get(effect, effect)
    minutes = inputs.get("persist_minutes", settings.MONITORING_ALARM_PERSIST_MINUTES)
    n = f"{value:g}" if isinstance(value, float) else value
    if factor == "level1_active":
        return _("{n} level 1 (H/L) alarm(s) active: at least {colour}").format(n=n, colour=colour)
    if factor == "level2_active":
        return _("{n} level 2 (HH/LL) alarm(s) active: at least {colour}").format(n=n, colour=colour)
    if factor in ("level1_persisting_or_multiple", "level2_persisting_or_multiple"):
        level = factor[5]
        long_n, unit_n = values.get(f"long_level{level}", 0), values.get(f"worst_unit_level{level}", 0)
        parts = []
        if long_n:
            text = (_("{n} level 1 alarm(s) active over {m} minutes") if level == "1"
                    else _("{n} level 2 alarm(s) active over {m} minutes"))
            parts.append(text.format(n=long_n, m=minutes))
        if unit_n >= 2:
            text = (_("{n} points of one major hazard unit in level 1 alarm") if level == "1"
                    else _("{n} points of one major hazard unit in level 2 alarm"))
            parts.append(text.format(n=unit_n))
        what = "; ".join(parts) or str(n)
        text = _("{what}: at least {colour}") if level == "1" else _("{what}: {colour}")
        return text.format(what=what, colour=colour)
    points = str(effect).lstrip("+")
    weighted = {
        "interruptions": (_("{n} open data interruption(s) × weight {w} = {effect} points"), "interruption"),
        "open_major_hazards": (_("{n} major hidden hazard(s) not closed × weight {w} = {effect} points"),
                               "open_major_hazard"),
        "recent_accidents": (_("{n} recent accident(s) × weight {w} = {effect} points"), "recent_accident"),
    }
    if factor in weighted:
        text, key = weighted[factor]
        w = weights.get(key)
        return text.format(n=n, w=f"{w:g}" if isinstance(w, int | float) else w, effect=points)
    if factor == "hazard_grade":
        grade = dict(MajorHazard._meta.get_field("grade").choices).get(value, value)
        return _("{grade} major hazard source: {effect} points").format(grade=grade, effect=points)
    if factor == "aggravating_points":
        step = weights.get("step_points")
        return _("{n} aggravating points, one step per {w} points: raised to {colour}").format(
            n=n, w=f"{step:g}" if isinstance(step, int | float) else step, colour=colour)
    return f"{factor}: {value} → {colour}"  # a replacement rule's own factor


INPUT_LABELS = [
    ("level1_active", gettext_lazy("Level 1 (H/L) alarms active")),
    ("level2_active", gettext_lazy("Level 2 (HH/LL) alarms active")),
    ("long_level1", gettext_lazy("Level 1 alarms active longer than the limit")),
    ("long_level2", gettext_lazy("Level 2 alarms active longer than the limit")),
    ("worst_unit_level1", gettext_lazy("Most points in level 1 alarm in one unit")),
    ("worst_unit_level2", gettext_lazy("Most points in level 2 alarm in one unit")),
    ("interruptions", gettext_lazy("Open data interruptions")),
    ("hazard_grade", gettext_lazy("Highest major hazard grade (1 is the most serious)")),
    ("open_major_hazards", gettext_lazy("Major hidden hazards not closed")),
    ("recent_accidents", gettext_lazy("Recent accidents")),
]
INPUT_WEIGHTS = {"interruptions": "interruption", "open_major_hazards": "open_major_hazard",
                 "recent_accidents": "recent_accident"}


class WarningFilterSet(ScopedFilterSet):
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    colour = django_filters.ChoiceFilter(label=gettext_lazy("warning level"), choices=WarningColour.choices)
    q = django_filters.CharFilter(label=gettext_lazy("Search"), method=text_search(["enterprise__name"]))

    class Meta:
        model = EnterpriseWarning
        fields: list = []


class WarningListView(LoginRequiredMixin, View):
    """Enterprise warning levels, most serious first, each with the reasons that made it."""

    def get(self, request):
        if not request.user.has_perm("monitoring.view_enterprisewarning"):
            raise PermissionDenied
        qs = EnterpriseWarning.objects.visible_to(request.user).select_related(
            "enterprise", "enterprise__county").order_by("-score", "enterprise__name")
        filterset = WarningFilterSet(request.GET or None, queryset=qs, request=request)
        page = Paginator(filterset.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
        for w in page.object_list:
            w.explained = [explain(r, w.inputs) for r in w.reasons]
            w.css = COLOUR_CSS.get(w.colour, "")
        counts = dict(qs.order_by().values_list("colour").annotate(n=Count("pk")))
        query = request.GET.copy()
        query.pop("page", None)
        return render(request, "monitoring/warning_list.html", {
            "filterset": filterset, "page": page, "rows": page.object_list,
            "counts": [(COLOUR_CSS[c], label, counts.get(c, 0)) for c, label in reversed(WarningColour.choices)],
            "querystring": query.urlencode()})


class WarningDetailView(LoginRequiredMixin, View):
    def get(self, request, pk):
        w = get_visible_or_404(EnterpriseWarning, request.user, pk, queryset=EnterpriseWarning.objects.select_related(
            "enterprise", "enterprise__county"))
        values = w.inputs.get("values", {})
        weights = w.inputs.get("weights", {})
        inputs = [(label, values.get(key), weights.get(INPUT_WEIGHTS.get(key, ""))) for key, label in INPUT_LABELS]
        grade_weights = [(g, weights.get(f"grade_{g}")) for g in (1, 2)]
        return render(request, "monitoring/warning_detail.html", {
            "object": w, "explained": [explain(r, w.inputs) for r in w.reasons], "inputs": inputs,
            "weights": weights, "grade_weights": grade_weights, "css": COLOUR_CSS.get(w.colour, ""),
            "persist_minutes": w.inputs.get("persist_minutes", settings.MONITORING_ALARM_PERSIST_MINUTES),
            "rule": w.inputs.get("rule", settings.MONITORING_WARNING_RULE),
            "default_rule": w.inputs.get("rule", settings.MONITORING_WARNING_RULE) ==
            "worksafe.monitoring.rules.default_warning_level"})


# --- inbox ----------------------------------------------------------------------------------------------------

def kind_label(key: str) -> str:
    """What a notification is about, from its key (alarm:<id>:raised, alarm:<id>:escalate:<level> …)."""
    parts = key.split(":")
    if len(parts) >= 3 and parts[0] == "alarm":
        if parts[2] == "raised":
            return _("Alarm raised")
        if parts[2] == "escalate" and len(parts) == 4 and parts[3].isdigit():
            level = dict(EscalationLevel.choices).get(int(parts[3]), parts[3])
            return _("Unacknowledged alarm escalated to {level}").format(level=level)
    return _("Notification")


class InboxView(LoginRequiredMixin, View):
    """My in-app notifications (站内消息); mark one or all read, or open one (marks it read)."""

    def mine(self):
        return Notification.objects.filter(recipient=self.request.user, channel="in_app")

    def get(self, request):
        unread = self.mine().filter(read_at__isnull=True)
        if request.GET.get("part") == "badge":
            n = unread.count()
            html = (f'<span class="badge bg-red text-red-fg badge-pill ms-1" data-testid="inbox-badge">'
                    f'{n if n < 100 else "99+"}</span>') if n else ""
            return HttpResponse(html)
        qs = unread if request.GET.get("unread") else self.mine()
        page = Paginator(qs.order_by("-created_at", "-pk"), settings.PAGE_SIZE).get_page(request.GET.get("page"))
        for n in page.object_list:
            n.kind = kind_label(n.key)
        return render(request, "monitoring/inbox.html", {"page": page, "rows": page.object_list,
                                                         "unread": unread.count(),
                                                         "only_unread": bool(request.GET.get("unread"))})

    def post(self, request):
        now = timezone.now()
        mine = self.mine().filter(read_at__isnull=True)
        if request.POST.get("all"):
            mine.update(read_at=now)
        elif request.POST.get("open"):
            n = self.mine().filter(pk=_int(request.POST["open"])).first()
            if n is None:
                return redirect("monitoring:inbox")
            mine.filter(pk=n.pk).update(read_at=now)
            if n.url and url_has_allowed_host_and_scheme(n.url, allowed_hosts={request.get_host()},
                                                         require_https=request.is_secure()):
                return redirect(n.url)
        elif request.POST.get("read"):
            mine.filter(pk=_int(request.POST["read"])).update(read_at=now)
        return redirect(reverse("monitoring:inbox") + (f"?{request.GET.urlencode()}" if request.GET else ""))


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


urlpatterns = [
    path("quality/", QualityView.as_view(), name="quality"),
    path("warnings/", WarningListView.as_view(), name="warnings"),
    path("warnings/<int:pk>/", WarningDetailView.as_view(), name="warning_detail"),
    path("inbox/", InboxView.as_view(), name="inbox"),
]
