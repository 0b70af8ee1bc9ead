"""Hazard statistics for a regulator's jurisdiction (or an enterprise, for itself): totals, rectification
rate, overdue hazards, breakdowns and the monthly trend, all from `Hazard.objects.visible_to(user)`.

The metrics are those of the hazard reports (hazards/reports.py), over a chosen period [from, to]
(default: the last 12 months including this one; `to` is never after today):

- found: found in the period; closed: verified and closed (销号) in the period;
- rectification rate = hazards found in the period and closed by its end ÷ hazards found in the period;
- open / overdue: open at the end of the period / and past their deadline then. With `to` = today this is
  exactly the hazard list's "overdue" filter.

The level, status, key-class and jurisdiction filters narrow the hazards first; status is the current one.
Every figure is one aggregate query (values + annotate), whatever the number of rows.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import django_filters
from django.db.models import Count
from django.db.models.functions import Substr, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worksafe.core.choices import LEVEL_WIDTH, KeyIndustry
from worksafe.core.excel import Column
from worksafe.core.filters import JurisdictionFilter, ScopedFilterSet
from worksafe.core.models import Jurisdiction
from worksafe.hazards.choices import HazardLevel, HazardStatus, ListingStatus
from worksafe.hazards.models import Hazard, Listing
from worksafe.hazards.reports import METRICS, metric_filters, rate

OVERDUE_LIST_SIZE = 20
DATE = django_filters.DateFilter


class StatisticsFilterSet(ScopedFilterSet):
    date_from = DATE(label=_("From"), method="period")
    date_to = DATE(label=_("To"), method="period")
    jurisdiction = JurisdictionFilter(code_path="enterprise__county__code")
    key_class = django_filters.ChoiceFilter(label=_("key industry class"), field_name="enterprise__key_class",
                                            choices=KeyIndustry.choices)
    level = django_filters.ChoiceFilter(label=_("level"), choices=HazardLevel.choices)
    status = django_filters.ChoiceFilter(label=_("status"), choices=HazardStatus.choices)

    class Meta:
        model = Hazard
        fields = []

    def period(self, queryset, name, value):
        return queryset  # the period is applied per metric (found_on for found, closed_on for closed …)


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The last 12 months including the current one: the 1st of the month 11 months back → today."""
    month = today.year * 12 + today.month - 1 - 11
    return datetime.date(month // 12, month % 12 + 1, 1), today


def _counts(filters: dict) -> dict:
    return {m: Count("id", filter=q) for m, q in filters.items()}


def _row(code, label, counts: dict | None) -> dict:
    counts = counts or {}
    row = {"code": code, "label": str(label), **{m: counts.get(m, 0) for m in METRICS}}
    row["rate"] = rate(row["found_rectified"], row["found"])
    return row


def _grouped(qs, field: str, filters: dict) -> dict:
    """{value of `field`: {metric: count}} in one query."""
    return {r[field]: r for r in qs.values(field).annotate(**_counts(filters)).order_by(field)}


def months(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    first = datetime.date(start.year, start.month, 1)
    result = []
    while first <= end:
        result.append(first)
        first = datetime.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return result


class Statistics:
    """Everything the statistics page and its exports show, computed lazily per table."""

    def __init__(self, user, params, request=None):
        self.user = user
        self.today = timezone.localdate()
        self.filterset = StatisticsFilterSet(params or None, queryset=Hazard.objects.visible_to(user),
                                             request=request or SimpleNamespace(user=user))
        # An invalid field is left out (and shown with its error); the others still apply.
        if self.filterset.is_bound:
            self.filterset.form.is_valid()
        data = self.data = getattr(self.filterset.form, "cleaned_data", {})
        start, end = default_period(self.today)
        start, end = data.get("date_from") or start, min(data.get("date_to") or end, self.today)
        if start > end:
            start, end = end, start
        self.start, self.end = start, end
        self.filters = metric_filters(start, end)
        self.qs = self.filterset.qs.filter(found_on__lte=end)
        self.jurisdiction_code = data.get("jurisdiction") or getattr(getattr(user, "organisation", None),
                                                                     "jurisdiction_id", None)
        if getattr(user, "is_enterprise_user", False):
            self.jurisdiction_code = None

    # --- tables ---------------------------------------------------------------------------------

    def by_level(self) -> list[dict]:
        counts = _grouped(self.qs, "level", self.filters)
        return [_row(v, label, counts.get(v)) for v, label in HazardLevel.choices]

    def totals(self, by_level: list[dict] | None = None) -> dict:
        """Sum of the level rows (levels partition the hazards): no extra query."""
        rows = by_level if by_level is not None else self.by_level()
        total = {m: sum(r[m] for r in rows) for m in METRICS}
        return _row("total", _("Total"), total)

    def by_status(self) -> list[dict]:
        counts = _grouped(self.qs, "status", self.filters)
        return [_row(v, label, counts.get(v)) for v, label in HazardStatus.choices]

    def by_key_class(self) -> list[dict]:
        counts = _grouped(self.qs, "enterprise__key_class", self.filters)
        return [_row(v, label, counts.get(v)) for v, label in KeyIndustry.choices if v in counts]

    def by_jurisdiction(self) -> list[dict]:
        """Rows one level below the chosen jurisdiction (or the user's): cities of the province, counties of a
        city, townships of a county. At province level the reporting groups (平潭综合实验区) are added,
        marked as counted within their city, as on the landing page."""
        code = self.jurisdiction_code
        if not code or len(code) not in (LEVEL_WIDTH["province"], LEVEL_WIDTH["city"], LEVEL_WIDTH["county"]):
            return []
        children = list(Jurisdiction.objects.filter(parent_id=code).order_by("code").values_list(
            "code", "name", "reporting_group"))
        if len(code) == LEVEL_WIDTH["county"]:
            counts = _grouped(self.qs, "enterprise__township_id", self.filters)
            rows = [_row(c, name, counts.get(c)) | {"group": False} for c, name, _g in children]
            if counts.get(None):
                rows.append(_row("", _("(township not recorded)"), counts[None]) | {"group": False})
            return rows
        # one query by county, summed up in Python to the next level (and to the reporting groups)
        by_county = _grouped(self.qs.annotate(county=Substr("enterprise__county_id", 1, LEVEL_WIDTH["county"])),
                             "county", self.filters)
        width = LEVEL_WIDTH["city"] if len(code) == LEVEL_WIDTH["province"] else LEVEL_WIDTH["county"]
        parts: dict[str, dict] = {}
        for county, counts in by_county.items():
            target = parts.setdefault(county[:width], dict.fromkeys(METRICS, 0))
            for m in METRICS:
                target[m] += counts[m]
        rows = [_row(c, name, parts.get(c)) | {"group": False} for c, name, _g in children]
        if width == LEVEL_WIDTH["city"]:
            groups: dict[str, dict] = {}
            for county, group in Jurisdiction.objects.filter(level="county").exclude(reporting_group="") \
                    .values_list("code", "reporting_group"):
                target = groups.setdefault(group, dict.fromkeys(METRICS, 0))
                for m in METRICS:
                    target[m] += by_county.get(county, {}).get(m, 0)
            rows += [_row(name, name, counts) | {"group": True} for name, counts in groups.items()]
        return rows

    def trend(self) -> list[dict]:
        """Found and closed per calendar month of the period (two queries)."""
        found = dict(self.qs.filter(self.filters["found"]).annotate(month=TruncMonth("found_on"))
                     .values_list("month").annotate(n=Count("id")).order_by())
        closed = dict(self.qs.filter(self.filters["rectified"]).annotate(month=TruncMonth("closed_on"))
                      .values_list("month").annotate(n=Count("id")).order_by())
        found = {_month(k): v for k, v in found.items()}
        closed = {_month(k): v for k, v in closed.items()}
        return [{"month": m.strftime("%Y-%m"), "found": found.get(m, 0), "closed": closed.get(m, 0)}
                for m in months(self.start, self.end)]

    def overdue(self, limit: int | None = OVERDUE_LIST_SIZE) -> list[Hazard]:
        qs = (self.qs.filter(self.filters["overdue"]).select_related("enterprise", "enterprise__county")
              .order_by("deadline", "id"))
        return list(qs[:limit] if limit else qs)

    def escalated(self) -> int:
        from worksafe.hazards.views import escalated_to

        return len(escalated_to(self.user)) if self.user.has_perm("hazards.view_listing") else 0

    def overdue_listings(self) -> int:
        return Listing.objects.visible_to(self.user).filter(status=ListingStatus.LISTED,
                                                            deadline__lt=self.today).count()

    def as_dict(self) -> dict:
        """All figures as JSON-ready data (the API and the chart)."""
        levels = self.by_level()
        return {
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "totals": self.totals(levels),
            "by_level": levels,
            "by_status": self.by_status(),
            "by_key_class": self.by_key_class(),
            "by_jurisdiction": self.by_jurisdiction(),
            "trend": self.trend(),
            "escalated_listings": self.escalated(),
            "overdue_listings": self.overdue_listings(),
        }


def _month(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = value.date()
    return datetime.date(value.year, value.month, 1)


# --- Excel export ------------------------------------------------------------------------------

METRIC_COLUMNS = [
    Column("found", _("Found in the period")),
    Column("rectified", _("Closed in the period")),
    Column("found_rectified", _("Found and closed")),
    Column("rate", _("Rectification rate (%)")),
    Column("open", _("Open at period end")),
    Column("overdue", _("Overdue at period end")),
]

TABLES = {  # ?table=…: (header of the first column, method)
    "jurisdiction": (_("Jurisdiction"), "by_jurisdiction"),
    "key_class": (_("key industry class"), "by_key_class"),
    "level": (_("level"), "by_level"),
    "status": (_("status"), "by_status"),
}


def export_table(stats: Statistics, table: str) -> tuple[list[Column], list]:
    """Columns and rows of one table, for core.excel.export_response. KeyError for an unknown table."""
    if table == "trend":
        return ([Column("month", _("Month")), Column("found", _("Found in the period")),
                 Column("closed", _("Closed in the period"))],
                [SimpleNamespace(**r) for r in stats.trend()])
    if table == "overdue":
        return ([Column("code", _("hazard number")), Column("title", _("hazard")),
                 Column("enterprise__name", _("enterprise")), Column("enterprise__county__name", _("county")),
                 Column("level", _("level")), Column("status", _("status")), Column("deadline", _("deadline")),
                 Column("days_overdue", _("Days overdue"))],
                [_with_days(h, stats.end) for h in stats.overdue(limit=None)])
    header, method = TABLES[table]
    rows = getattr(stats, method)()
    if table == "level":
        rows = [*rows, stats.totals(rows)]
    return [Column("label", header), *METRIC_COLUMNS], [SimpleNamespace(**r) for r in rows]


def _with_days(hazard: Hazard, end: datetime.date) -> Hazard:
    hazard.days_overdue = (end - hazard.deadline).days
    return hazard
