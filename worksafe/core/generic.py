"""Generic scoped views: list (+ Excel export), detail, add/edit, delete, Excel import.

Every queryset comes from `visible_to` / `scoped` (core/scoping.py); every write is re-checked
against the scope after saving and audited in the same transaction.
"""

from __future__ import annotations

import threading

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import close_old_connections, models, transaction
from django.db.models import ProtectedError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from worksafe.core import audit, excel
from worksafe.core.models import AuditEntry, ImportJob
from worksafe.core.scoping import get_visible_or_404, perm_name, still_visible


class OutOfScope(Exception):
    """A write would leave the row outside the user's jurisdiction: roll back."""


def viewname(model, kind: str) -> str:
    return f"{model._meta.app_label}:{model._meta.model_name}_{kind}"


class ScopedForm(forms.ModelForm):
    """A ModelForm that narrows every FK choice to what the user may see."""

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            qs = getattr(field, "queryset", None)
            if qs is not None and hasattr(qs, "scoped"):
                field.queryset = qs.scoped(user)


class ScopedMixin(LoginRequiredMixin):
    model: type[models.Model]
    raise_exception = False

    def require_perm(self, action: str) -> None:
        if not self.request.user.has_perm(perm_name(self.model, action)):
            raise PermissionDenied

    def context(self, **extra):
        meta = self.model._meta
        return {"model_meta": meta, "verbose_name": meta.verbose_name,
                "verbose_name_plural": meta.verbose_name_plural,
                "list_url": reverse(viewname(self.model, "list")), **extra}


class ScopedListView(ScopedMixin, View):
    """Filtered, paginated list; `?export=xlsx` downloads the same rows with the same columns."""

    filterset_class = None
    columns: list[str] = []
    export_columns: list[str] | None = None
    select_related: list[str] = []
    template_name = "generic/list.html"
    paginate_by = settings.PAGE_SIZE

    def get_queryset(self):
        qs = self.model.objects.visible_to(self.request.user, "view")
        return qs.select_related(*self.select_related) if self.select_related else qs

    def get(self, request, *args, **kwargs):
        self.require_perm("view")
        filterset = self.filterset_class(request.GET or None, queryset=self.get_queryset(), request=request)
        qs = filterset.qs
        if request.GET.get("export") == "xlsx":
            return self.export(qs)
        page = Paginator(qs, self.paginate_by).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        ctx = self.context(
            filterset=filterset, page=page, rows=page.object_list,
            columns=excel.columns_for(self.model, self.columns), querystring=query.urlencode(),
            can_add=request.user.has_perm(perm_name(self.model, "add")),
            can_import=_declares(self.model, "import") and request.user.has_perm(perm_name(self.model, "import")),
            can_export=self.can_export(), detail_view=viewname(self.model, "detail"),
            # the list page's own table (HX-Target "table") keeps the browser URL in step; a list embedded
            # in another page (e.g. an enterprise's tab) does not
            push_url=request.headers.get("HX-Target") == "table" or not request.headers.get("HX-Request"),
        )
        if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
            return render(request, "partials/table.html", ctx)
        return render(request, self.template_name, ctx)

    def can_export(self) -> bool:
        """Models that declare an export permission need it (personal data); others export what they list."""
        if _declares(self.model, "export"):
            return self.request.user.has_perm(perm_name(self.model, "export"))
        return True

    def export(self, qs):
        if not self.can_export():
            raise PermissionDenied
        cols = excel.columns_for(self.model, self.export_columns or self.columns)
        count = qs.count()
        audit.record(AuditEntry.Action.EXPORT, object_type=self.model._meta.label_lower,
                     detail=_("{n} rows; filters: {f}").format(n=count, f=self.request.GET.urlencode())[:500])
        name = f"{self.model._meta.verbose_name_plural}-{timezone.localdate().isoformat()}.xlsx"
        return excel.export_response(name, cols, qs.iterator(chunk_size=2000))


def _declares(model, action: str) -> bool:
    return any(p[0] == f"{action}_{model._meta.model_name}" for p in model._meta.permissions)


class ScopedDetailView(ScopedMixin, View):
    template_name = "generic/detail.html"
    fields: list[str] = []

    def get_object(self):
        return get_visible_or_404(self.model, self.request.user, self.kwargs["pk"], "view")

    def get_context(self, obj):
        return {}

    def get(self, request, pk):
        obj = self.get_object()
        user = request.user
        ctx = self.context(
            can_change=user.has_perm(perm_name(self.model, "change")),
            can_delete=user.has_perm(perm_name(self.model, "delete")),
            object=obj, fields=[(c.header, c.value(obj)) for c in excel.columns_for(self.model, self.fields)],
            edit_url=_url_or_none(viewname(self.model, "edit"), obj.pk),
            delete_url=_url_or_none(viewname(self.model, "delete"), obj.pk),
            **self.get_context(obj),
        )
        return render(request, self.template_name, ctx)


def _url_or_none(name: str, pk) -> str | None:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return None


class ScopedEditView(ScopedMixin, View):
    """Add (no pk) and edit (pk): save, re-check the scope, audit — all in one transaction."""

    form_class: type[ScopedForm]
    template_name = "generic/form.html"

    def get_object(self):
        if "pk" not in self.kwargs:
            self.require_perm("add")
            return None
        return get_visible_or_404(self.model, self.request.user, self.kwargs["pk"], "change")

    def get(self, request, pk=None):
        obj = self.get_object()
        # "Add" links from a parent's page pass its id, e.g. ?hazard=12 (still narrowed by ScopedForm).
        initial = {k: v for k, v in request.GET.items() if k in self.form_class.base_fields} if obj is None else None
        return self.render_form(self.form_class(instance=obj, initial=initial, user=request.user), obj)

    def get_success_url(self, saved) -> str:
        return reverse(viewname(self.model, "detail"), args=[saved.pk])

    def render_form(self, form, obj):
        return render(self.request, self.template_name, self.context(form=form, object=obj))

    def post(self, request, pk=None):
        obj = self.get_object()
        action = "change" if obj else "add"
        before = audit.snapshot(obj) if obj else None
        form = self.form_class(request.POST, request.FILES, instance=obj, user=request.user)
        if not form.is_valid():
            return self.render_form(form, obj)
        try:
            with transaction.atomic():
                saved = form.save()
                if not still_visible(saved, request.user, action):
                    raise OutOfScope
                audit.record(AuditEntry.Action.UPDATE if obj else AuditEntry.Action.CREATE, saved,
                             before=before, after=audit.snapshot(saved))
        except OutOfScope:
            if obj is not None:
                obj.refresh_from_db()
            form.add_error(None, _("You can only keep records inside your own jurisdiction."))
            return self.render_form(form, obj)
        messages.success(request, _("Saved."))
        url = self.get_success_url(saved)
        if request.headers.get("HX-Request"):
            response = HttpResponseRedirect(url)
            response["HX-Location"] = url
            return response
        return redirect(url)


class ScopedDeleteView(ScopedMixin, View):
    template_name = "generic/delete.html"

    def get(self, request, pk):
        obj = get_visible_or_404(self.model, request.user, pk, "delete")
        return render(request, self.template_name, self.context(object=obj))

    def get_success_url(self, obj) -> str:
        return reverse(viewname(self.model, "list"))

    def post(self, request, pk):
        obj = get_visible_or_404(self.model, request.user, pk, "delete")
        before = audit.snapshot(obj)
        success_url = self.get_success_url(obj)
        try:
            with transaction.atomic():
                audit.record(AuditEntry.Action.DELETE, obj, before=before)
                obj.delete()
        except ProtectedError:
            messages.error(request, _("This record is still referenced by other records and cannot be deleted."))
            return redirect(viewname(self.model, "detail"), pk=pk)
        messages.success(request, _("Deleted."))
        return redirect(success_url)


class Importer:
    """How rows of an Excel sheet become model rows: header → form field, and a natural key."""

    model: type[models.Model]
    form_class: type[ScopedForm]
    headers: list[tuple[str, str, str]] = []  # (header as in the template, form field, note)
    key_field: str | None = None  # update the row with this value if it exists in scope
    example: list | None = None

    def row_data(self, values: dict) -> dict:
        return values

    def instance_for(self, data, user):
        """The existing row to update, None to create, or an error message."""
        if not self.key_field or not data.get(self.key_field):
            return None
        existing = self.model.objects.filter(**{self.key_field: data[self.key_field]}).first()
        if existing is None:
            return None
        if not self.model.objects.visible_to(user, "change").filter(pk=existing.pk).exists():
            return _("A record with this {field} already exists outside your jurisdiction.").format(
                field=self.model._meta.get_field(self.key_field).verbose_name)
        return existing

    def validate(self, raw: dict, user) -> tuple[list[str], object]:
        """(errors, validated row) for one sheet row; the row is passed to save() later."""
        data = self.row_data({k: ("" if v is None else v) for k, v in raw.items()})
        instance = self.instance_for(data, user)
        if isinstance(instance, str):
            return [instance], None
        if instance is None and not user.has_perm(perm_name(self.model, "add")):
            return [_("You may not add new records.")], None
        form = self.form_class(data=data, instance=instance, user=user)
        if form.is_valid():
            return [], form
        return self.form_errors(form), None

    def form_errors(self, form) -> list[str]:
        header_of = {field: h for h, field, _n in self.headers}
        result = []
        for field, errs in form.errors.items():
            label = header_of.get(field) or (form.fields[field].label if field in form.fields else "")
            result.extend(f"{label}：{err}" if label else str(err) for err in errs)
        return result

    def key_of(self, row):
        """The natural key of a validated row, to catch the same record twice in one file."""
        return row.cleaned_data.get(self.key_field) if self.key_field else None

    def save(self, row, user) -> list[tuple[models.Model, bool, dict | None]]:
        """Save one validated row: [(object, created?, snapshot before)] for the audit log."""
        is_new = row.instance.pk is None
        before = None if is_new else audit.snapshot(type(row.instance).objects.get(pk=row.instance.pk))
        return [(row.save(), is_new, before)]

    def finish(self, user) -> None:
        """Called once after every row is saved, inside the same transaction."""


class RowImporter(Importer):
    """Rows validated by a plain Form taking `user` (not a ModelForm); `save()` decides what to write."""

    def validate(self, raw, user):
        if not user.has_perm(perm_name(self.model, "add")):
            return [str(_("You may not add new records."))], None
        form = self.form_class(data=self.row_data({k: ("" if v is None else v) for k, v in raw.items()}), user=user)
        if form.is_valid():
            return [], form
        return self.form_errors(form), None

    def key_of(self, row):
        return None


def run_import(job: ImportJob, data: bytes, importer: Importer, all_or_nothing: bool = True) -> ImportJob:
    """Validate every row, then save all of them in one transaction (or only the good ones).

    1. Read and validate each row with the importer's form (progress updated as it goes).
    2. If any row failed and the import is all-or-nothing: save nothing, keep the per-row errors.
    3. Otherwise save the rows in one transaction, re-check each against the user's scope and
       audit each; a scope failure rolls everything back.
    """
    user = job.user
    try:
        headers, rows = excel.read_rows(data)
    except Exception:  # openpyxl raises many kinds for a non-Excel upload
        job.status = ImportJob.Status.FAILED
        job.errors = [{"row": 0, "errors": [_("The file is not a readable Excel (.xlsx) workbook.")]}]
        job.finished_at = timezone.now()
        job.save()
        return job
    expected = [h for h, _f, _n in importer.headers]
    missing = [h for h in expected if h not in headers]
    rows = list(rows)
    job.total = len(rows)
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["total", "status"])
    errors, valid = [], []
    if missing:
        errors.append({"row": 1, "errors": [_("Missing columns: {}").format("、".join(str(h) for h in missing))]})
    elif len(rows) > settings.IMPORT_MAX_ROWS:
        errors.append({"row": 0, "errors": [_("At most {n} rows per file.").format(n=settings.IMPORT_MAX_ROWS)]})
    else:
        index = {h: headers.index(h) for h in expected}
        for done, (number, values) in enumerate(rows, start=1):
            raw = {field: values[index[h]] if index[h] < len(values) else None for h, field, _n in importer.headers}
            row_errors, form = importer.validate(raw, user)
            if row_errors:
                errors.append({"row": number, "errors": row_errors})
            else:
                valid.append((number, form))
            if done % 50 == 0 or done == len(rows):
                ImportJob.objects.filter(pk=job.pk).update(processed=done)
        seen = {}
        for number, form in valid:  # duplicate keys inside the same file
            key = importer.key_of(form)
            if key and key in seen:
                errors.append({"row": number, "errors": [_("Same {field} as row {row}.").format(
                    field=importer.model._meta.get_field(importer.key_field).verbose_name, row=seen[key])]})
            elif key:
                seen[key] = number
        bad_rows = {e["row"] for e in errors}
        valid = [(n, f) for n, f in valid if n not in bad_rows]
    job.processed = job.total
    job.errors = sorted(errors, key=lambda e: e["row"])
    if errors and (all_or_nothing or missing):
        job.status = ImportJob.Status.FAILED
    else:
        try:
            with transaction.atomic():
                created = updated = 0
                for number, row in valid:
                    for obj, is_new, before in importer.save(row, user):
                        if not still_visible(obj, user, "add" if is_new else "change"):
                            raise OutOfScope(number)
                        audit.record(AuditEntry.Action.IMPORT, obj, before=before, after=audit.snapshot(obj),
                                     user=user, detail=_("Excel import {name}, row {row}").format(
                                         name=job.filename, row=number))
                        created += is_new
                        updated += not is_new
                importer.finish(user)
            job.created_count, job.updated_count = created, updated
            job.status = ImportJob.Status.DONE
        except OutOfScope as exc:
            job.errors = [*job.errors, {"row": exc.args[0], "errors": [
                _("You can only keep records inside your own jurisdiction.")]}]
            job.status = ImportJob.Status.FAILED
    job.finished_at = timezone.now()
    job.save()
    return job


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel file (.xlsx)"))
    all_or_nothing = forms.BooleanField(
        label=gettext_lazy("Save nothing if any row has an error"), required=False, initial=True)


class ScopedImportView(ScopedMixin, View):
    """Template download, upload, per-row error report; long files run in the background."""

    importer_class: type[Importer]
    template_name = "generic/import.html"

    def get(self, request):
        self.require_perm("import")
        importer = self.importer_class()
        if request.GET.get("template"):
            name = _("{name} import template.xlsx").format(name=self.model._meta.verbose_name)
            return excel.template_response(name, [h for h, _f, _n in importer.headers],
                                           [str(n) for _h, _f, n in importer.headers], importer.example)
        return render(request, self.template_name, self.context(form=ImportForm(), importer=importer))

    def post(self, request):
        self.require_perm("import")
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, self.context(form=form, importer=self.importer_class()))
        upload = form.cleaned_data["file"]
        data = upload.read()
        job = ImportJob.objects.create(user=request.user, model_label=self.model._meta.label_lower,
                                       filename=upload.name[:200])
        all_or_nothing = form.cleaned_data["all_or_nothing"]
        importer = self.importer_class()
        if _row_estimate(data) > settings.IMPORT_BACKGROUND_ROWS:
            threading.Thread(target=_run_in_thread, args=(job.pk, data, importer, all_or_nothing, request.id),
                             daemon=True).start()
        else:
            _run_guarded(job, data, importer, all_or_nothing)
        return redirect("core:importjob_detail", pk=job.pk)


def _row_estimate(data: bytes) -> int:
    try:
        import io

        from openpyxl import load_workbook

        return load_workbook(io.BytesIO(data), read_only=True).worksheets[0].max_row or 0
    except Exception:
        return 0


def _run_guarded(job, data, importer, all_or_nothing):
    """run_import, but an unexpected error marks the job failed instead of leaving it "running"."""
    try:
        run_import(job, data, importer, all_or_nothing)
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now(),
            errors=[{"row": 0, "errors": [_("The import stopped: {}").format(exc)]}])


def _run_in_thread(job_pk, data, importer, all_or_nothing, request_id):
    close_old_connections()
    job = ImportJob.objects.select_related("user").get(pk=job_pk)
    token = audit.set_request(audit.RequestInfo(request_id=request_id, ip=None, user=job.user))
    try:
        _run_guarded(job, data, importer, all_or_nothing)
    finally:
        audit.reset_request(token)
        close_old_connections()


class ImportJobView(LoginRequiredMixin, View):
    """Progress and result of an import; the page polls itself while the job runs."""

    def get(self, request, pk):
        job = get_object_or_404(ImportJob, pk=pk, user=request.user)
        template = "partials/import_progress.html" if request.headers.get("HX-Request") else "generic/import_job.html"
        return render(request, template, {"job": job})


def crud_urls(model, views, *, importer: bool = False) -> list:
    """Paths for list/add/detail/edit/delete (and import) named <app>:<model>_<kind>."""
    name = model._meta.model_name
    slug = name + "s"
    patterns = [
        path(f"{slug}/", views["list"].as_view(), name=f"{name}_list"),
        path(f"{slug}/add/", views["edit"].as_view(), name=f"{name}_add"),
        path(f"{slug}/<int:pk>/", views["detail"].as_view(), name=f"{name}_detail"),
        path(f"{slug}/<int:pk>/edit/", views["edit"].as_view(), name=f"{name}_edit"),
        path(f"{slug}/<int:pk>/delete/", views["delete"].as_view(), name=f"{name}_delete"),
    ]
    if importer:
        patterns.append(path(f"{slug}/import/", views["import"].as_view(), name=f"{name}_import"))
    return patterns
