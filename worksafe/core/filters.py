"""Filter pieces shared by every list: jurisdiction subtree and text search."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from worksafe.core.models import Jurisdiction
from worksafe.core.scoping import prefix_q


class JurisdictionFilter(django_filters.ChoiceFilter):
    """Subtree filter on a GB/T 2260 code path (code prefix), choices limited to the user's scope."""

    def __init__(self, *args, code_path: str, levels=("city", "county"), **kwargs):
        self.code_path = code_path
        self.levels = levels
        kwargs.setdefault("label", _("Jurisdiction"))
        super().__init__(*args, method=self.filter_prefix, **kwargs)

    def filter_prefix(self, queryset, name, value):
        if not value:
            return queryset
        user = getattr(getattr(self.parent, "request", None), "user", None)
        own = getattr(getattr(user, "organisation", None), "jurisdiction_id", None)
        if own and own.startswith(value):
            return queryset  # the scoping rule already limits rows to this subtree: don't say it twice
        return queryset.filter(prefix_q(self.code_path, value))


class ScopedFilterSet(django_filters.FilterSet):
    """A FilterSet whose jurisdiction choices come from the requesting user's scope."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        user = getattr(request, "user", None)
        for f in self.filters.values():
            if isinstance(f, JurisdictionFilter):
                qs = Jurisdiction.objects.scoped(user).filter(level__in=f.levels) if user else Jurisdiction.objects.none()
                choices = [(j.code, ("　" if j.level == "county" else "") + j.name) for j in qs.only("code", "name", "level")]
                f.extra["choices"] = choices
                self.form.fields[f.field_name].choices = [("", "---------"), *choices]


def text_search(fields):
    def method(queryset, name, value):
        if not value:
            return queryset
        q = Q()
        for field in fields:
            q |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(q)

    return method
