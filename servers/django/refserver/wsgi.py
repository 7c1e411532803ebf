"""WSGI entry point, loaded once in the gunicorn master (preload_app)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refserver.settings")
application = get_wsgi_application()
