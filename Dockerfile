# Build stage: compile the `crm` binary in release mode.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p tgcrm-server --bin crm

# Runtime stage: a small Debian with just the binary.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/crm --create-home crm
COPY --from=build /src/target/release/crm /usr/local/bin/crm
USER crm
WORKDIR /var/lib/crm
ENV CRM_BIND=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["crm"]
CMD ["serve"]
