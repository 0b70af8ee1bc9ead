"""How a scoped model joins the generic authorisation test: one ScopedSpec in the app's tests/specs.py."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps


@dataclass
class ScopedSpec:
    """model: the scoped model.
    make(world, enterprise) -> a row belonging to that enterprise (or the enterprise itself).
    form_data(world, row) -> POST data that saves the row unchanged in place (edit).
    new_data(world, row) -> POST data for a new row in the same place as `row` (add).
    move(world, row) -> fields to merge into form_data that would put the row in 福州 (out of 厦门's scope).
    api: the API prefix under /api/v1/ (e.g. "enterprises/enterprises").
    api_data(world, row) -> JSON body for PUT/POST.
    """

    model: type
    make: Callable
    form_data: Callable
    new_data: Callable
    move: Callable
    api: str
    api_data: Callable
    ui_names: list[str] = field(default_factory=lambda: ["list", "detail", "add", "edit", "delete"])
    writable: bool = True  # False: read-only here (rows change only through workflow steps)

    @property
    def id(self) -> str:
        return self.model._meta.label_lower


def _spec_modules():
    for config in apps.get_app_configs():
        if not config.name.startswith("worksafe."):
            continue
        try:
            yield importlib.import_module(f"{config.name}.tests.specs")
        except ModuleNotFoundError:
            continue


def all_specs() -> list[ScopedSpec]:
    return [spec for module in _spec_modules() for spec in module.SPECS]


def covered_elsewhere() -> dict[str, str]:
    """URL names (and API url names) that an app tests by hand, with the test that covers them.

    Workflow steps, maps and documents are scoped through visible_to/get_visible_or_404 like the rest,
    but they are not CRUD: each app lists them in its specs.py as COVERED_ELSEWHERE = {name: test}.
    """
    return {name: where for module in _spec_modules() for name, where in getattr(module, "COVERED_ELSEWHERE",
                                                                                 {}).items()}


def resolve(obj, path: str):
    """Follow a Django-style `a__b_id` path on an instance, in Python (the oracle's view of the row)."""
    value = obj
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def in_place(user, row) -> bool:
    """Oracle for the scoping rule, evaluated in Python on the instance (not through the ORM)."""
    scope = type(row).scope
    org = user.organisation
    if scope is None:
        return True
    if org is None:
        return False
    if org.kind == "enterprise":
        return bool(scope.organisation) and resolve(row, scope.organisation) == org.pk
    if org.kind not in ("emergency", "industry"):
        return False
    if not str(resolve(row, scope.jurisdiction)).startswith(org.jurisdiction_id):
        return False
    if org.kind == "industry" and scope.sector:
        return resolve(row, scope.sector) in (org.supervised_classes or [])
    return True
