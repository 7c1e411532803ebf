# syntax=docker/dockerfile:1
# The Flask reference server (servers/flask) under gunicorn, as `servers/run flask` runs it:
# a venv with the pinned requirements.txt (not the test requirements), then serve.py.
# Python 3.11 like Debian 12's python3. Context: the repository root:
#   docker build -f k8s/docker/flask-api.Dockerfile -t flask-api:dev .
FROM python:3.11-slim-bookworm AS build
WORKDIR /app
COPY servers/flask/requirements.txt ./
RUN python -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt

FROM python:3.11-slim-bookworm
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY servers/flask/serve.py ./
COPY servers/flask/refflask refflask
COPY servers/python/refcommon refcommon
ENV PORT=8080 HOST=0.0.0.0 WORKERS=4 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app/.venv/bin/python", "/app/serve.py"]
