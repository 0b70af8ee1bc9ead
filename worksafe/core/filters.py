"""Filter pieces shared by every list: jurisdiction subtree and text search."""

import django_filters
from django import forms
from django.db.models import Q
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from worksafe.core.models import Jurisdiction
from worksafe.core.scoping import prefix_q
from worksafe.core.widgets import DateInput


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


YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class PresenceFilter(django_filters.ChoiceFilter):
    """Yes / no: whether the related row or value at `field_name` exists (`isnull`)."""

    def __init__(self, *args, present_means_yes: bool = True, **kwargs):
        self.present_means_yes = present_means_yes
        kwargs.setdefault("choices", YES_NO)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value not in ("yes", "no"):
            return qs
        present = (value == "yes") == self.present_means_yes
        return qs.filter(**{f"{self.field_name}__isnull": not present})


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
        for field in self.form.fields.values():
            if type(field.widget) is forms.Select:
                field.widget = FastSelect(attrs=field.widget.attrs, choices=field.widget.choices)
            elif isinstance(field, forms.DateField) and not isinstance(field.widget, DateInput):
                field.widget = DateInput(attrs=field.widget.attrs)  # a date picker, ISO value


def text_search(fields):
    def method(queryset, name, value):
        if not value:
            return queryset
        q = Q()
        for field in fields:
            q |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(q)

    return method


class FastSelect(forms.Select):
    """A <select> rendered in one pass instead of one template per option.

    A list page's filter form holds a few hundred options (97 GB/T 4754 divisions alone); Django's
    per-option templates made them the largest part of the page's rendering time (docs/performance.md).
    """

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        selected = {str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v is not None}
        options = format_html_join(
            "", '<option value="{}"{}>{}</option>',
            ((key, mark_safe(" selected") if str(key) in selected else "", label)
             for key, label in ((self._key(k), lbl) for k, lbl in self.choices)))
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)

    @staticmethod
    def _key(key):
        return "" if key is None else getattr(key, "value", key)
