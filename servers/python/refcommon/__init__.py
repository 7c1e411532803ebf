"""What the Python reference servers (Django, Flask, both on gunicorn) share, so that a
difference between them is the framework's: the work behind each endpoint (work), the
Prometheus metrics (prom) and the gunicorn master with its shutdown sequence (master).
Each server's directory links it as `refcommon/`. See servers/README.md."""
