# monitor: one container; state (SQLite, outbox files, heartbeat) lives in the /state volume.
FROM debian:bookworm-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MONITOR_CONFIG=/app/sources.yaml \
    MONITOR_STATE_DIR=/state \
    PATH=/opt/venv/bin:$PATH

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY templates ./templates
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir '.[postgres]' \
    && rm -rf /root/.cache
COPY sources.yaml ./

RUN useradd --system --uid 10001 --home-dir /state --shell /usr/sbin/nologin monitor \
    && mkdir -p /state && chown monitor:monitor /state
USER monitor
VOLUME ["/state"]

HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["monitor", "healthcheck"]
CMD ["monitor", "run"]
