from decouple import Csv, config

from .base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = config("ALLOWED_HOSTS", cast=Csv())
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
