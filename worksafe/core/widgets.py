"""Form widgets shared by every app."""

from django import forms


class DateInput(forms.DateInput):
    """A native date picker; the value is always ISO (the browser shows it in the user's locale)."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):  # noqa: A002 - Django's argument name
        super().__init__(attrs=attrs, format=format)


def css_class(widget) -> str:
    """The Tabler (Bootstrap) class for a widget; '' for radio and checkbox groups, styled per option."""
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return ""
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    return "form-select" if isinstance(widget, forms.Select) else "form-control"
