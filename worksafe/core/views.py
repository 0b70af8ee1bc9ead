from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness and database reachability, for load balancers."""
    connection.ensure_connection()
    return JsonResponse({"status": "ok"})
