"""WSGI entry point of the benchmark peer, for gunicorn (``peer serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")

application = get_wsgi_application()
