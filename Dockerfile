# monitor: one container; state (SQLite, outbox files, heartbeat) lives in the /state volume.
# Build: docker build -t monitor .   (or podman build; CI: .ci/container.sh)
FROM debian:bookworm-slim

LABEL org.opencontainers.image.title="monitor" \
      org.opencontainers.image.description="Watches Chinese government portals for blockchain policy documents and delivers digests." \
      org.opencontainers.image.licenses="MIT"

# MONITOR_OBSERVE_HOST: for a config saying observe: {host: "${MONITOR_OBSERVE_HOST:-127.0.0.1}"}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MONITOR_CONFIG=/app/sources.yaml \
    MONITOR_STATE_DIR=/state \
    MONITOR_OBSERVE_HOST=0.0.0.0 \
    PATH=/opt/venv/bin:$PATH

# Runtime only: Python and CA certificates. No compilers: every dependency comes as a wheel.
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

RUN groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid monitor --home-dir /state --shell /usr/sbin/nologin monitor \
    && mkdir -p /state && chown monitor:monitor /state

# Build-time only, unset by default: a package index mirror and a CA bundle for pip (CI behind a
# TLS-intercepting proxy passes them; see .ci/container.sh). Not kept in the image's environment.
ARG PIP_INDEX_URL
ARG PIP_CERT

# Dependencies first, read from pyproject.toml alone, so a code or README change reuses this layer.
COPY pyproject.toml /tmp/src/
RUN python3 -m venv /opt/venv \
    && python3 -c 'import tomllib; p = tomllib.load(open("/tmp/src/pyproject.toml", "rb"))["project"]; \
print("\n".join(p["dependencies"] + p["optional-dependencies"]["postgres"]))' > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
    && rm -rf /tmp/requirements.txt /root/.cache

# How the container runs; declared before the code so a code change rebuilds only what follows.
WORKDIR /app
VOLUME ["/state"]
# `monitor run` stops on SIGTERM: no new checks, running ones and sends finish (8 s at most).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["monitor", "healthcheck"]
CMD ["monitor", "run"]

# The package itself, built from a scratch copy of the sources (templates go into the wheel).
COPY README.md /tmp/src/
COPY monitor /tmp/src/monitor
COPY templates /tmp/src/templates
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /tmp/src \
    && rm -rf /tmp/src /root/.cache
COPY sources.yaml ./

# Numeric, so orchestrators can verify runAsNonRoot.
USER 10001:10001
