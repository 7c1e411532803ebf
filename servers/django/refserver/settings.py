"""Minimal settings: no database, no apps, one middleware."""

SECRET_KEY = "refserver-keeps-no-secrets"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "refserver.urls"
WSGI_APPLICATION = "refserver.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["refserver.metrics.track"]
DATABASES: dict = {}
USE_TZ = True
DATA_UPLOAD_MAX_NUMBER_FIELDS = None  # the Rust and Go servers have no such limit

# Django logs every 4xx response as a warning; the other servers log nothing per request.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django.request": {"level": "ERROR"}},
}
