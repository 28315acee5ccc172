# acs-dns in a container: `docker build -t acs-dns .`, then
#   docker run --rm -e AZURE_CLIENT_ID -e AZURE_TENANT_ID -e AZURE_FEDERATED_TOKEN_FILE=/token \
#     -v "$AZURE_FEDERATED_TOKEN_FILE:/token:ro" -v "$PWD/config:/work/config:ro" \
#     acs-dns provision --auth workload-identity --config config/domains.toml --output json
# VERSION must equal pyproject.toml's version (the build installs that exact wheel; tests/test_release.py).
ARG PYTHON_IMAGE=python:3.12-slim

# ---- build: the wheel, from the source tree ------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir --disable-pip-version-check "build>=1.2"
COPY pyproject.toml README.md LICENSE ./
COPY provisioner ./provisioner
COPY acs_sandbox ./acs_sandbox
RUN python -m build --wheel --outdir /dist

# ---- runtime: the wheel and its pinned dependencies, nothing else ----------------------------------------
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="acs-dns" \
      org.opencontainers.image.description="Azure Communication Services email domain records into Azure DNS, verified" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints.txt /tmp/constraints.txt
COPY --from=build /dist/ /tmp/dist/
RUN python -m pip install -c /tmp/constraints.txt "/tmp/dist/acs_dns_provisioner-${VERSION}-py3-none-any.whl" \
    && rm -rf /tmp/dist /tmp/constraints.txt \
    && useradd --create-home --uid 10001 --user-group acsdns
USER acsdns
WORKDIR /work
ENTRYPOINT ["acs-dns"]
CMD ["--help"]
