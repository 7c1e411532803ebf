# syntax=docker/dockerfile:1
# The Go reference server (servers/go), built as `servers/run go` builds it, but static
# (CGO_ENABLED=0: the pure-Go resolver) for distroless static. Context: the repository root:
#   docker build -f k8s/docker/go-api.Dockerfile -t go-api:dev .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY servers/setup servers/run servers/
COPY servers/go servers/go
RUN servers/setup go \
 && cd servers/go && CGO_ENABLED=0 go build -trimpath -o bin/refserver .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/servers/go/bin/refserver /refserver
ENV PORT=8080 HOST=0.0.0.0
EXPOSE 8080
ENTRYPOINT ["/refserver"]
