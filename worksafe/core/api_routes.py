"""Jurisdictions API (read-only reference data inside the user's scope)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from ninja import Router, Schema

from worksafe.core.api import ApiError, ErrorOut
from worksafe.core.models import Jurisdiction
from worksafe.core.scoping import get_visible_or_404


class JurisdictionOut(Schema):
    code: str
    name: str
    level: str
    parent_id: str | None
    lng: float | None
    lat: float | None
    reporting_group: str


class JurisdictionPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[JurisdictionOut]


router = Router(tags=["jurisdictions"])


@router.get("/", response={200: JurisdictionPage, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
            url_name="jurisdiction-list")
def list_jurisdictions(request, level: str | None = None, parent: str | None = None, q: str | None = None,
                       page: int = 1, page_size: int = settings.PAGE_SIZE):
    """Divisions in the caller's jurisdiction subtree (GB/T 2260 prefix)."""
    if not request.user.has_perm("core.view_jurisdiction"):
        raise PermissionDenied
    if page < 1 or not 1 <= page_size <= 2000:
        raise ApiError(400, "validation_error", {"page_size": ["1–2000"]})
    qs = Jurisdiction.objects.visible_to(request.user)
    if level:
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent_id=parent)
    if q:
        qs = qs.filter(name__contains=q)
    paginator = Paginator(qs, page_size)
    if page > max(paginator.num_pages, 1):
        raise ApiError(404, "not_found")
    return {"count": paginator.count, "page": page, "page_size": page_size,
            "results": list(paginator.page(page).object_list)}


@router.get("/{code}", response={200: JurisdictionOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
            url_name="jurisdiction-detail")
def get_jurisdiction(request, code: str):
    return get_visible_or_404(Jurisdiction, request.user, code, "view")
