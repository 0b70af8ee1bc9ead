from django import template

from worksafe.hazards.choices import STEP_LABELS

register = template.Library()


@register.filter
def hazard_step(action: str) -> str:
    """The timeline label of a workflow step."""
    return str(STEP_LABELS.get(action, action))
