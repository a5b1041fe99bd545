# The cluster stack's one entry point (docker-compose.cluster.yml): HAProxy from Debian
# bookworm's own package, balancing the vmasim front ends. Built FROM the base the
# other images use (scripts/docker-base-images provides it where no registry answers:
# a Debian bookworm with python3), so it needs no other image: python runs the health
# check (the base has no curl), apt installs HAProxy from the Debian mirror.
#
#   docker build -f docker/haproxy.Dockerfile -t vmasim-proxy:latest docker
#
# Builds with BuildKit and the legacy builder, offline from registries (see Dockerfile).

FROM python:3.11-slim-bookworm
# 2.6 is bookworm's HAProxy (its security updates keep the 2.6 series).
# A user of its own with a fixed uid (the package's `haproxy` user gets whichever
# system uid is free); the port is above 1024, so it needs no capability.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "haproxy=2.6.*" \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin vmasim-proxy
COPY haproxy.cfg /etc/haproxy/haproxy.cfg
USER 10002
EXPOSE 8000
# Healthy when a request through the proxy reaches a front end (GET /healthz): the
# Locust master starts only then. No front end up: HAProxy answers 503, unhealthy.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# Master-worker mode (-W) in the foreground (-db), logging to stdout: `docker stop`'s
# SIGTERM is a hard stop of the proxy, SIGUSR1 (docker kill -s USR1) a soft one.
CMD ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
