# Tobiume FHIR server: slim, non-root; migrates the schema, then serves with uvicorn.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TOBIUME_ALEMBIC_INI=/app/alembic.ini

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY alembic ./alembic
RUN pip install --no-compile . \
    && useradd --system --uid 10001 --home-dir /app tobiume \
    && mkdir -p /app/data && chown tobiume /app/data

USER tobiume
ENV TOBIUME_DATABASE_URL=sqlite+aiosqlite:////app/data/tobiume.db \
    TOBIUME_SIGNING_KEY_FILE=/app/data/tobiume-signing-keys.json
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz')" || exit 1
CMD ["sh", "-c", "tobiume migrate && exec tobiume serve --host 0.0.0.0 --port 8000 --workers ${TOBIUME_WORKERS:-2}"]
