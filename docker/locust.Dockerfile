# Locust from PyPI (the version of locust.lock), with the contract of the official locustio/locust image: `locust` on
# PATH as the ENTRYPOINT (arguments and LOCUST_* variables are Locust's), a non-root
# user `locust` (uid 1000) with its home as the working directory, ports 8089 (web UI)
# and 5557 (workers). docker-compose.yml builds it under the official image's name where
# that image is absent; anyone may build it by hand (context: docker/):
#
#   docker build -f docker/locust.Dockerfile -t locustio/locust:2.47.0 docker
#
# Builds with BuildKit and the legacy builder, offline from registries (see Dockerfile).
# EXTRA_CA_CERTS: as in Dockerfile (build stage only).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
ARG EXTRA_CA_CERTS=""
COPY with-extra-ca-certs /usr/local/bin/
# Locust and its dependencies exactly as locked (locust.lock, made by scripts/lock from
# the development lock: the version the tests run; every wheel checked by its hash).
COPY locust.lock /tmp/
RUN python -m venv /opt/venv \
    && with-extra-ca-certs /opt/venv/bin/pip install --require-hashes --no-deps \
        --requirement /tmp/locust.lock

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/venv /opt/venv
RUN useradd --create-home --uid 1000 locust
USER 1000
WORKDIR /home/locust
EXPOSE 8089 5557
ENTRYPOINT ["locust"]
