# A node's image: the static binary on a distroless base, run as a
# non-root user.
#
#   docker build -t switchboard .
#   docker run --rm -p 4433:4433/udp -p 8080:8080 -v sb-data:/var/lib/switchboard switchboard
#
# runs a dev node (self-signed certificate and token secret generated into
# the volume); `docker exec` the CLI against it, e.g.
#   docker exec <container> switchboard send --user alice --to user:bob --text hi
# Production nodes take their settings as SWITCHBOARD_<FLAG> variables or
# flags after `serve` (docs/OPERATIONS.md; deploy/kubernetes for a cluster).

FROM golang:1.26 AS build
# The version the binary reports (switchboard version, the build_info
# metric): docker build --build-arg VERSION=v1.4.0 .
ARG VERSION
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# No cgo anywhere (Pebble, quic-go and gocql are pure Go): a static binary.
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X github.com/switchboard-im/switchboard/internal/version.version=${VERSION}" \
    -o /out/switchboard ./cmd/switchboard

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/switchboard /usr/local/bin/switchboard
ENV SWITCHBOARD_DATA_DIR=/var/lib/switchboard \
    SWITCHBOARD_LISTEN=0.0.0.0:4433 \
    SWITCHBOARD_ADMIN=0.0.0.0:8080 \
    SWITCHBOARD_LOG_JSON=true
# QUIC for clients (UDP); admin HTTP (/metrics, /healthz, /api/v1/);
# between nodes: memberlist gossip (UDP and TCP) and actor remoting.
EXPOSE 4433/udp 8080/tcp 7946/udp 7946/tcp 7100/tcp
VOLUME /var/lib/switchboard
USER nonroot
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["serve", "--dev"]
