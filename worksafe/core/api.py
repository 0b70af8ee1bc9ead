"""API plumbing: authentication (session with second factor, or token), errors, scoped CRUD routes.

Errors are always `{"code", "message", "field_errors"}` with a Chinese message (error_codes below).
The CRUD routes take their rows from `visible_to`, validate with the same ModelForm as the pages,
re-check the scope after writing and audit in the same transaction.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import ProtectedError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Body, NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from worksafe.core import audit
from worksafe.core.middleware import otp_required, password_expired
from worksafe.core.models import ApiToken, AuditEntry
from worksafe.core.scoping import get_visible_or_404, perm_name, still_visible

ERROR_MESSAGES = {
    "validation_error": gettext_lazy("Some fields are invalid."),
    "not_found": gettext_lazy("Not found, or outside your jurisdiction."),
    "permission_denied": gettext_lazy("You do not have permission to do this."),
    "not_authenticated": gettext_lazy("Please log in or send a valid API token."),
    "protected": gettext_lazy("This record is still referenced by other records and cannot be deleted."),
    "out_of_scope": gettext_lazy("You can only keep records inside your own jurisdiction."),
    "bad_request": gettext_lazy("The request could not be understood."),
    "invalid_transition": gettext_lazy("This step is not possible in the record's current state."),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, field_errors: dict | None = None, message: str | None = None):
        self.status, self.code, self.field_errors = status, code, field_errors or {}
        self.message = message or str(ERROR_MESSAGES.get(code, code))


class ErrorOut(Schema):
    code: str
    message: str
    field_errors: dict[str, list[str]] = {}


def _ready(request, user):
    """A session or token user counts only when fully signed in (password current, second factor done)."""
    if not user.is_active or user.must_change_password or password_expired(user):
        return None
    if otp_required(user) and not getattr(user, "is_verified", lambda: False)():
        return None
    return user


class SessionOtpAuth(SessionAuth):
    """Browser session (CSRF-checked for writes) whose user finished every login step."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return _ready(request, user) if user else None


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ws_…` machine tokens; a token stands in for the second factor."""

    def authenticate(self, request, token):
        row = ApiToken.objects.select_related("user", "user__organisation").filter(key_hash=ApiToken.hash(token)).first()
        if row is None or (row.expires_at and row.expires_at < timezone.now()) or not row.user.is_active:
            return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        row.user.is_verified = lambda: True
        if getattr(request, "audit_info", None) is not None:
            request.audit_info.user = row.user
        return row.user


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="WorkSafe Fujian API", version="1", urls_namespace="api-1",
        description="福建省安全生产“一张网四平台” API. 每个接口都按用户的管辖范围过滤。",
        auth=[TokenAuth(), SessionOtpAuth()],
    )

    def reply(request, status, code, field_errors=None, message=None):
        body = {"code": code, "message": message or str(ERROR_MESSAGES[code]), "field_errors": field_errors or {}}
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def _api_error(request, exc):
        return reply(request, exc.status, exc.code, exc.field_errors, exc.message)

    @api.exception_handler(NinjaValidationError)
    def _validation(request, exc):
        fields: dict[str, list[str]] = {}
        for err in exc.errors:
            loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query")]
            fields.setdefault(".".join(loc) or "__all__", []).append(_("Invalid value: {}").format(err.get("msg", "")))
        return reply(request, 400, "validation_error", fields)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return reply(request, 404, "not_found")

    @api.exception_handler(PermissionDenied)
    def _denied(request, exc):
        return reply(request, 403, "permission_denied")

    @api.exception_handler(AuthenticationError)
    def _unauth(request, exc):
        return reply(request, 401, "not_authenticated")

    @api.exception_handler(HttpError)
    def _http(request, exc):
        code = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}.get(exc.status_code, "bad_request")
        return reply(request, exc.status_code, code)

    return api


def _form_errors(form) -> dict[str, list[str]]:
    return {field: [str(e) for e in errs] for field, errs in form.errors.items()}


def crud_router(model, *, out_schema, in_schema, filterset_class, form_class, tags: list[str], select_related=(),
                writable: bool = True, create=None) -> Router:
    """list / get / create / update / delete for one scoped model, all through the scoping rule.

    `create(form, user)` replaces `form.save()` for new rows when creating is a workflow step (it runs in
    the same transaction, before the scope re-check).
    """
    router = Router(tags=tags)
    name = model._meta.model_name

    PageOut = type(f"{model.__name__}Page", (Schema,), {  # noqa: N806 (a schema class built per model)
        "__annotations__": {"count": int, "page": int, "page_size": int, "results": list[out_schema]}})

    def require(request, action):
        if not request.user.has_perm(perm_name(model, action)):
            raise PermissionDenied

    @router.get("/", response={200: PageOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut}, url_name=f"{name}-list", operation_id=f"{name}_list",
                summary=f"List {model._meta.verbose_name_plural}")
    def list_rows(request, page: int = 1, page_size: int = settings.PAGE_SIZE):
        require(request, "view")
        if page < 1:
            raise ApiError(400, "validation_error", {"page": [_("At least 1.")]})
        if not 1 <= page_size <= 200:
            raise ApiError(400, "validation_error", {"page_size": [_("Between 1 and 200.")]})
        qs = model.objects.visible_to(request.user).select_related(*select_related)
        filterset = filterset_class(request.GET, queryset=qs, request=request)
        if not filterset.is_valid():
            raise ApiError(400, "validation_error", _form_errors(filterset.form))
        paginator = Paginator(filterset.qs, page_size)
        if page > max(paginator.num_pages, 1):
            raise ApiError(404, "not_found")
        return {"count": paginator.count, "page": page, "page_size": page_size,
                "results": list(paginator.page(page).object_list)}

    @router.get("/{int:pk}", response={200: out_schema, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
                url_name=f"{name}-detail", operation_id=f"{name}_get")
    def get_row(request, pk: int):
        return get_visible_or_404(model, request.user, pk, "view")

    if not writable:
        return router

    def save(request, instance, payload: dict, action: str):
        before = audit.snapshot(instance) if instance else None
        form = form_class(data=payload, instance=instance, user=request.user)
        if not form.is_valid():
            raise ApiError(400, "validation_error", _form_errors(form))
        with transaction.atomic():
            obj = create(form, request.user) if create and instance is None else form.save()
            if not still_visible(obj, request.user, action):
                transaction.set_rollback(True)
                raise ApiError(403, "out_of_scope")
            if not (create and instance is None):  # a workflow step audits itself
                audit.record(AuditEntry.Action.UPDATE if instance else AuditEntry.Action.CREATE, obj,
                             before=before, after=audit.snapshot(obj))
        return obj

    @router.post("/", response={201: out_schema, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
                 url_name=f"{name}-create", operation_id=f"{name}_create")
    def create_row(request, payload: in_schema):  # type: ignore[valid-type]
        require(request, "add")
        return 201, save(request, None, payload.dict(), "add")

    @router.put("/{int:pk}", response={200: out_schema, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
                url_name=f"{name}-update", operation_id=f"{name}_update")
    def update_row(request, pk: int, payload: in_schema):  # type: ignore[valid-type]
        obj = get_visible_or_404(model, request.user, pk, "change")
        return save(request, obj, payload.dict(), "change")

    @router.patch("/{int:pk}", response={200: out_schema, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
                  url_name=f"{name}-patch", operation_id=f"{name}_patch")
    def patch_row(request, pk: int, payload: Body[dict[str, Any]]):
        obj = get_visible_or_404(model, request.user, pk, "change")
        current = {f: _form_value(obj, f) for f in form_class._meta.fields}
        unknown = sorted(set(payload) - set(current))
        if unknown:
            raise ApiError(400, "validation_error", {k: [_("Unknown field.")] for k in unknown})
        return save(request, obj, {**current, **payload}, "change")

    @router.delete("/{int:pk}", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
                   url_name=f"{name}-delete", operation_id=f"{name}_delete")
    def delete_row(request, pk: int):
        obj = get_visible_or_404(model, request.user, pk, "delete")
        try:
            with transaction.atomic():
                audit.record(AuditEntry.Action.DELETE, obj, before=audit.snapshot(obj))
                obj.delete()
        except ProtectedError:
            raise ApiError(409, "protected") from None
        return 204, None

    return router


def _form_value(obj, field_name):
    field = obj._meta.get_field(field_name)
    return getattr(obj, field.attname)
