"""The health endpoint used by container healthchecks and load balancers."""

from collections.abc import Callable

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.urls import get_resolver

PATH = "/healthz"


class HealthCheckMiddleware:
    """Answers /healthz ahead of every other middleware (it comes first in MIDDLEWARE).

    The probe asks http://127.0.0.1:8000/healthz from inside the container: plain HTTP and
    a Host that DJANGO_ALLOWED_HOSTS need not list. Answered here, it is never refused as a
    disallowed host (400) nor redirected to HTTPS (301) once production names its domain.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == PATH:
            load_urls()
            return healthz(request)
        return self.get_response(request)


def load_urls() -> None:
    """Import the URLconf, as a page would (Django keeps it once loaded): a release whose
    urls.py or views fail to import answers 500 here too, and never becomes healthy."""
    _ = get_resolver().url_patterns


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
