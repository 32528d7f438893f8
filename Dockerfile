# escalation-connector: `docker build -t escalation-connector .`
# docs/operations.md#docker
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY rules ./rules
COPY adapters ./adapters
COPY connector ./connector
COPY emulators ./emulators
COPY state ./state
COPY notify ./notify
# The example policy ships inside the package: `escalate demo` and the sandbox use it.
COPY config.example.yaml ./connector/samples/config.example.yaml
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.12-slim
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --home-dir /var/lib/escalation-connector --create-home escalate
USER escalate
ENV PATH=/opt/venv/bin:$PATH \
    ESCALATE_STATE_DIR=/var/lib/escalation-connector \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/escalation-connector"]
ENTRYPOINT ["escalate"]
CMD ["--help"]
