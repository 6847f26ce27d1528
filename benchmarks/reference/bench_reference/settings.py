"""Settings of the reference stack: the bench project's own settings, plus WhiteNoise.

compare.py copies this package into the bench project (as bench_reference/) for the
reference image only; BENCH_BASE_SETTINGS names the project's settings module, since the
project's name changes from run to run. Everything else (database, CONN_MAX_AGE, security
middleware, HTTPS settings) is the project's, so both stacks run the same Django app.
"""

import importlib
import os

_base = importlib.import_module(os.environ["BENCH_BASE_SETTINGS"])
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
SECURITY = "django.middleware.security.SecurityMiddleware"


def with_whitenoise(middleware: list[str]) -> list[str]:
    """WhiteNoise right after SecurityMiddleware, where its documentation puts it."""
    at = middleware.index(SECURITY) + 1 if SECURITY in middleware else 0
    return [*middleware[:at], WHITENOISE, *middleware[at:]]


MIDDLEWARE = with_whitenoise(_base.MIDDLEWARE)
STORAGES = {
    **_base.STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
