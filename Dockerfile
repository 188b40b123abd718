# One image for every service: `docker build -t ticketing .`, then
#   docker run ticketing serve tickets        (or auth, billing, notify)
#   docker run ticketing migrate tickets      (the Kubernetes init container)
# Configuration comes from <PREFIX>_* environment variables (see README and deploy/README.md).
# The image holds the production command line only (services/cli.py: serve, migrate, topics,
# schemas); the development tools (devstack/) stay out.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so a code change does not reinstall them.
# The versions of requirements/runtime.lock, checked against their hashes.
COPY requirements/runtime.lock ./requirements/
RUN pip install --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY services ./services
RUN pip install --no-deps . && pip check && python -m compileall -q /opt/venv

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["ticketing"]
CMD ["--help"]
