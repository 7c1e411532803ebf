"""The Flask reference server's WSGI application (refflask.app:app)."""
