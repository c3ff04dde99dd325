# syntax=docker/dockerfile:1
# The chat server in one image: the built web client plus Django/Channels served by Daphne
# (the default target), and nginx in front with the collected static files (target `proxy`).
# docker compose up (see docker-compose.yml) runs both, with PostgreSQL and Redis.

# --- 1. the web client: frontend/dist with its Vite manifest ---------------------------------
FROM node:20-bookworm-slim AS client
WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- 2. Python dependencies, exactly as locked in pdm.lock -----------------------------------
FROM python:3.11-slim AS python-deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PDM_CHECK_UPDATE=false
# pdm pinned as bin/_setup.sh pins it: newer releases break against unearth 0.19 / hishel 2.
RUN pip install "pdm==2.26.9" "unearth<0.19" "hishel<1.2"
WORKDIR /build
COPY pyproject.toml pdm.lock ./
# --prod leaves out the test group; the export carries the lock's hashes, which pip checks.
RUN pdm export --prod -o requirements.txt \
 && python -m venv /venv \
 && /venv/bin/pip install --require-hashes -r requirements.txt

# --- 3. the app: Daphne serving Django and Channels -----------------------------------------
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    PYTHONPATH=/app/src \
    DJANGO_SETTINGS_MODULE=config.settings
COPY --from=python-deps /venv /venv
WORKDIR /app
COPY manage.py ./
COPY src/ src/
COPY --from=client /build/frontend/dist frontend/dist
# Static files collected once at build time (a throwaway key: nothing secret is made here).
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0 \
 && useradd --system --uid 10001 --no-create-home --home-dir /app chat
USER chat
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && exec daphne -b 0.0.0.0 -p 8000 config.asgi:application"]

# --- 4. nginx in front: the repo's configuration and the collected static files --------------
FROM nginx:1.28-alpine AS proxy
COPY deploy/nginx/nginx.conf /etc/nginx/nginx.conf
# Filled in from the container's environment (CHAT_UPSTREAM, CHAT_LISTEN, CHAT_STATIC_ROOT)
# into /etc/nginx/conf.d/ when the container starts; the stock default site goes.
COPY deploy/nginx/chat.conf.template /etc/nginx/templates/chat.conf.template
RUN rm -f /etc/nginx/conf.d/default.conf
COPY --from=app /app/staticfiles /srv/chat/static

# --- the default target: the app ---------------------------------------------------------------
FROM app
