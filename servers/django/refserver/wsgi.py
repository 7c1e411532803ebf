"""WSGI entry point, loaded once in the gunicorn master (preload_app)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refserver.settings")
application = get_wsgi_application()

# Load the views now rather than on the first request: the forked workers then share
# the id generator's state, and no worker pays for the import while serving.
from . import urls  # noqa: E402, F401
