# Target `app` (what compose runs): one image for every service; the compose file picks the module.
# Target `sandbox`: the whole stack in one container, Redis inside, for an ESP's own integration
# tests (tipline.testing, docs/ispws.md).
FROM python:3.11-slim AS deps

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TIPLINE_HOST=0.0.0.0 \
    TIPLINE_LOG_FORMAT=json

WORKDIR /app
# The locked dependencies first, in a layer of their own: a change of the source reuses it.
COPY requirements/app.txt requirements/app.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/app.txt \
    && useradd --system --no-create-home tipline

FROM deps AS app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY tipline ./tipline
RUN pip install --no-cache-dir --no-deps .
USER tipline
CMD ["python", "-m", "services.intake"]

FROM deps AS sandbox
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
COPY --from=app /app /app
RUN pip install --no-cache-dir --no-deps .
USER tipline
EXPOSE 8001 8004
CMD ["python", "-m", "tipline", "up", "--state-dir", "/tmp/tipline"]
