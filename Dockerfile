# One image for every service: the compose file picks the module to run.
FROM python:3.11-slim

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
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY tipline ./tipline
RUN pip install --no-cache-dir --no-deps .
USER tipline

CMD ["python", "-m", "services.intake"]
