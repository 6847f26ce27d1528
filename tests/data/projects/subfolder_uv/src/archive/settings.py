"""Settings of the archive: every knob is an ARCHIVE_* variable with a sane default."""

import os
from pathlib import Path


def _get_boolean(key: str, default: str = "NO") -> bool:
    return os.getenv(key, default).lower() in ("yes", "y", "1", "t", "true")


BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.getenv("ARCHIVE_SECRET_KEY", "e11fl1oa-*ytql8p)(06fbj4ukrlo+n7k&q5+$1md7i+mge=ee")
DEBUG = _get_boolean("ARCHIVE_DEBUG")
ALLOWED_HOSTS = os.getenv("ARCHIVE_ALLOWED_HOSTS", "*").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "documents",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "archive.urls"
WSGI_APPLICATION = "archive.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.getenv("ARCHIVE_DBHOST", "localhost"),
        "PORT": os.getenv("ARCHIVE_DBPORT", "5432"),
        "NAME": os.getenv("ARCHIVE_DBNAME", "archive"),
        "USER": os.getenv("ARCHIVE_DBUSER", "archive"),
        "PASSWORD": os.getenv("ARCHIVE_DBPASS", "archive"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

TIME_ZONE = os.getenv("ARCHIVE_TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = os.getenv("ARCHIVE_STATIC_URL", "/static/")
STATIC_ROOT = os.getenv("ARCHIVE_STATICDIR", BASE_DIR.parent / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.getenv("ARCHIVE_MEDIA_ROOT", BASE_DIR.parent / "media"))

# Document previews are shown in frames of the archive's own pages.
X_FRAME_OPTIONS = "SAMEORIGIN"
