FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY reminderbot ./reminderbot
COPY messages ./messages
RUN pip install . && useradd --system --home /app reminderbot && chown -R reminderbot /app
USER reminderbot
# Migrations run at start; `reminderbot migrate` does them alone.
CMD ["reminderbot", "run"]
