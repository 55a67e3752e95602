# syntax=docker/dockerfile:1
# Stage 1: build wheels for reminderbot (with its message catalog inside) and every dependency
# in pyproject.toml, so the runtime image needs no compiler and no network at install time.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY reminderbot ./reminderbot
COPY messages ./messages
RUN pip wheel --wheel-dir /wheels .

# Stage 2: the runtime: the installed wheels, a non-root user, nothing else from the source tree.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels reminderbot \
    && useradd --system --create-home --home-dir /app --uid 10001 reminderbot
USER reminderbot
WORKDIR /app
# /healthz, /metrics (and the webhook with WEBHOOK_URL) on every interface, port 8080.
ENV HTTP_HOST=0.0.0.0 HTTP_PORT=8080
EXPOSE 8080
# GET /healthz: 200 when the database answers and the dispatcher ticks. urlopen raises on a 503
# or no answer, so the check exits 0 (healthy) or 1 (unhealthy), the two statuses Docker allows.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=8)"]
# `run` applies the migrations itself; `reminderbot migrate` does only that.
CMD ["reminderbot", "run"]
