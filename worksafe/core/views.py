from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness and database reachability, for load balancers."""
    connection.ensure_connection()
    return JsonResponse({"status": "ok"})


def attachment(request, pk: int):
    """Serve an attachment to whoever may view the record it belongs to (404 otherwise).

    Uploads are never served from /media/ directly: the parent's scoping rule decides, like every page.
    """
    from django.contrib.auth.views import redirect_to_login
    from django.http import FileResponse, Http404

    from worksafe.core.models import Attachment
    from worksafe.core.scoping import get_visible_or_404

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    item = Attachment.objects.select_related("content_type").filter(pk=pk).first()
    model = item.content_type.model_class() if item else None
    if model is None or not hasattr(model.objects, "scoped"):
        raise Http404
    get_visible_or_404(model, request.user, item.object_id, "view")
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, filename=item.name)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
