"""The health endpoint used by container healthchecks and load balancers."""

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse


def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the application can reach its database, 503 otherwise.

    A container that cannot reach its database cannot serve pages: reporting it unhealthy
    keeps the proxy's dependency and orchestrators honest.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
