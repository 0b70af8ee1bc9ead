"""Chinese messages for the GB 18218 rule errors (the pure rules speak English to developers)."""

from django.utils.translation import gettext as _

from worksafe.majorhazards import rules


def describe(exc: Exception) -> str:
    """A message for the user: the rule error's kind and the substance it names."""
    if not isinstance(exc, rules.MajorHazardError):
        return str(exc)
    name = (exc.substance or "").strip("'\"")  # the rules quote it
    if isinstance(exc, rules.UnknownCategory):
        return _("{name}: this hazard category is not in GB 18218-2018 Table 2.").format(name=name)
    if isinstance(exc, rules.UnknownSubstance):
        return _("{name}: not in GB 18218-2018 Table 1; give its hazard category (Table 2) or a critical "
                 "quantity.").format(name=name)
    if isinstance(exc, rules.AmbiguousSubstance):
        return _("{name} fits several rows of Table 1; choose one of: {candidates}.").format(
            name=name, candidates="、".join(exc.candidates))
    if isinstance(exc, rules.SubstanceMismatch):
        return _("{name}: the name and the CAS number are different substances in Table 1.").format(name=name)
    if isinstance(exc, rules.InvalidCAS):
        return _("{name}: the CAS number is not valid.").format(name=name)
    if isinstance(exc, rules.MissingQuantity):
        return _("{name}: the maximum quantity is missing.").format(name=name)
    if isinstance(exc, rules.InvalidQuantity):
        return _("{name}: quantities must be numbers, q not negative and overrides positive.").format(name=name)
    if isinstance(exc, rules.InvalidPopulation):
        return _("The number of people within 500 m must be a whole number, 0 or more.")
    return _("The substances of this unit cannot be graded: {}").format(exc)
