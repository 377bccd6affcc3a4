# syntax=docker/dockerfile:1
# Production image of the CRM: gunicorn + whitenoise. The same image runs the Celery worker and
# beat (see docker-compose.yml). Third-party CSS/JS come from the npm registry at build time
# (package-lock.json) and are served by whitenoise: never from a CDN at run time.
#
#   docker build -t crm .
#   docker run --env-file .env -p 127.0.0.1:8000:8000 crm        # web (gunicorn)
#   docker run --env-file .env crm celery -A crm worker            # worker
#
# Settings come only from the environment (see .env.example); DEBUG defaults to off, and the
# app refuses to start without SECRET_KEY and FIELD_ENCRYPTION_KEYS.

# --- 1. front-end packages from the npm registry (exact versions of package-lock.json) --------
FROM node:20-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- 2. Python dependencies in a virtualenv ------------------------------------------------------
FROM python:3.12-slim AS python-deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# pyproject.toml declares no importable packages ([tool.setuptools] packages = []): the code runs
# from /app. So only its [project] dependencies are installed, read with tomllib; this layer is
# rebuilt only when pyproject.toml changes (dev extras such as pytest are left out).
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt

# --- 3. build: collected static files and compiled translations ---------------------------------
FROM python:3.12-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=python-deps /opt/venv /opt/venv
WORKDIR /app
COPY . .
COPY --from=frontend /build/node_modules ./node_modules
# Throw-away values so that the settings load with DEBUG off (production static storage:
# hashed, compressed files plus staticfiles.json). Nothing here connects to PostgreSQL or Redis,
# and none of these variables remains in the image.
RUN export DEBUG=0 \
        SECRET_KEY=build-time-only-value-not-used-by-the-running-app-0123456789abcdef \
        FIELD_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
        ALLOWED_HOSTS=localhost \
        DATABASE_URL=postgres://build:build@127.0.0.1:5432/build \
        REDIS_URL=redis://127.0.0.1:6379/0 \
    && mkdir -p locale \
    && python manage.py collectstatic --noinput \
    && python manage.py compilemessages --ignore=node_modules \
    && python -m compileall -q -x '/(node_modules|staticfiles)/' /app

# --- 4. runtime ----------------------------------------------------------------------------------
FROM python:3.12-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=crm.settings \
    CRM_DATA_DIR=/data \
    WEB_CONCURRENCY=3
# An unprivileged user; the code stays owned by root (read-only for the app). /data holds what
# the processes write: uploaded media (/data/media) and beat's schedule (/data/beat). Fresh
# named volumes mounted there inherit this ownership.
RUN groupadd --system --gid 10001 crm \
    && useradd --system --uid 10001 --gid crm --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin crm \
    && mkdir -p /data/media /data/beat \
    && chown -R crm:crm /data
COPY --from=python-deps /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# gunicorn takes its number of workers from WEB_CONCURRENCY (default above; override it with
# `-e WEB_CONCURRENCY=...`) and any further options from GUNICORN_CMD_ARGS.
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-", \
     "--timeout", "60", "--graceful-timeout", "30"]
