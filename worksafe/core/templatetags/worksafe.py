from django import template
from django.utils.html import format_html

from worksafe.core.widgets import css_class

register = template.Library()

_STATE_BADGES = {"expired": "bg-red-lt", "expiring": "bg-orange-lt", "valid": "bg-green-lt"}


@register.filter
def column(obj, col):
    """The value of a list column (core.excel.Column) for one row."""
    return col.value(obj)


@register.filter
def bootstrap(bound_field):
    """Render a form field with Tabler/Bootstrap classes and an invalid state."""
    css = css_class(bound_field.field.widget)
    if bound_field.errors:
        css += " is-invalid"
    return bound_field.as_widget(attrs={"class": css})


@register.filter
def state_badge(state, label=None):
    return format_html('<span class="badge {}">{}</span>', _STATE_BADGES.get(state, "bg-secondary-lt"), label or state)
