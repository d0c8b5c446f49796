# Build: docker build -t tickflow .   (or `docker compose up --build`, see docker-compose.yml)

FROM rust:1-bookworm AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        cmake pkg-config libssl-dev libsasl2-dev zlib1g-dev build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
COPY dataflows ./dataflows
COPY src ./src
COPY migrations ./migrations
COPY benches ./benches
RUN cargo build --release --locked --bin tickflow

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /app/target/release/tickflow /usr/local/bin/tickflow
ENTRYPOINT ["tickflow"]
CMD ["run"]
