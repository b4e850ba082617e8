# switchboard in a container.
#
#   docker build -t switchboard .
#   docker run --network host -v "$PWD/myconfig:/etc/switchboard" -v sbdata:/var/lib/switchboard switchboard
#
# The image carries the shipped configuration (sip-profiles/, dialplan/ with its sounds) in
# /etc/switchboard; it listens on 127.0.0.1 only, so mount a configuration of your own whose
# `listen`, `[media] rtp_address` and `[web] listen` name the host's LAN address. Host networking is the
# simple way to give SIP and the RTP port range (20000-30000 by default) to the phones.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Embedded at compile time: the database migrations and the web admin's pages.
COPY migrations ./migrations
COPY web ./web
COPY benches ./benches
RUN cargo build --release --locked --bin switchboard

FROM debian:bookworm-slim
# tzdata: GotoIfTime/STRFTIME with named zones (Europe/Berlin...).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/switchboard /usr/local/bin/switchboard
COPY sip-profiles /etc/switchboard/sip-profiles
COPY dialplan /etc/switchboard/dialplan
VOLUME /var/lib/switchboard
# SIP, SIP over TLS, and the web admin (`[web] listen`).
EXPOSE 5060/udp 5060/tcp 5061/tcp 8080/tcp
# Validate first: a broken configuration fails with file:line:column before anything binds.
CMD ["sh", "-c", "switchboard check --config /etc/switchboard && exec switchboard run --config /etc/switchboard --data /var/lib/switchboard"]
