"""The one scoping rule: which rows a user may see or act on.

What a user may do comes from their roles (auth Groups, core/roles.py); where comes from their
organisation: a regulator sees its jurisdiction's subtree (GB/T 2260 code prefix), an industry
department additionally only its supervised key-industry classes, an enterprise user only its
enterprise. Every page, export, import, API operation and partial starts from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import Http404

from worksafe.core.choices import OrganisationKind


@dataclass(frozen=True)
class Scope:
    """Paths from a scoped model to the fields the rule looks at.

    jurisdiction: path to the GB/T 2260 code, e.g. "enterprise__county__code" (Django trims the join).
    organisation: path to the owning enterprise's Organisation id, e.g. "enterprise__organisation_id";
        None when enterprise users never see the model.
    sector: path to the key-industry class, for industry departments; None when not narrowed.
    """

    jurisdiction: str
    organisation: str | None = None
    sector: str | None = None


def prefix_q(path: str, prefix: str) -> Q:
    """Rows whose GB/T 2260 code at `path` starts with `prefix`, written as a range.

    `code >= '3505' AND code < '3506'` selects the same rows as `LIKE '3505%'` (codes are digit strings)
    but, unlike LIKE, lets PostgreSQL walk a plain btree index in (code, name, id) order, so a paginated
    list stops after one page instead of sorting the whole subtree (bench/enterprise_list.py).
    """
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return Q(**{f"{path}__gte": prefix, f"{path}__lt": upper})


def perm_name(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class ScopedQuerySet(models.QuerySet):
    def scoped(self, user) -> ScopedQuerySet:
        """Rows inside the user's place (jurisdiction / enterprise / sectors), whatever their roles."""
        scope: Scope | None = getattr(self.model, "scope", None)
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if scope is None:
            return self
        org = user.organisation
        if org is None:
            return self.none()
        if org.kind == OrganisationKind.ENTERPRISE:
            if not scope.organisation:
                return self.none()
            return self.filter(**{scope.organisation: org.pk})
        if org.kind not in (OrganisationKind.EMERGENCY, OrganisationKind.INDUSTRY):
            return self.none()
        qs = self.filter(prefix_q(scope.jurisdiction, org.jurisdiction_id))
        if org.kind == OrganisationKind.INDUSTRY and scope.sector:
            qs = qs.filter(**{f"{scope.sector}__in": org.supervised_classes or []})
        return qs

    def visible_to(self, user, action: str = "view") -> ScopedQuerySet:
        """Rows the user may `action` (view/add/change/delete/export/...): permission and place."""
        if not user.has_perm(perm_name(self.model, action)):
            return self.none()
        return self.scoped(user)


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):
    pass


def get_visible_or_404(model, user, pk, action: str = "view", queryset=None):
    """Out of the user's place → 404 (existence does not leak); in place without permission → 403."""
    qs = queryset if queryset is not None else model.objects.all()
    try:
        obj = qs.scoped(user).get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not user.has_perm(perm_name(model, "view")) or not user.has_perm(perm_name(model, action)):
        raise PermissionDenied
    return obj


def still_visible(obj, user, action: str) -> bool:
    """Re-check after a write: the saved row must still be inside the user's place."""
    return type(obj)._default_manager.visible_to(user, action).filter(pk=obj.pk).exists()
