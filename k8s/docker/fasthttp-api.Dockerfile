# syntax=docker/dockerfile:1
# The Go fasthttp reference server (servers/go/fasthttp), built as `servers/run fasthttp`
# builds it, but static (CGO_ENABLED=0: the pure-Go resolver) for distroless static.
# Context: the repository root:
#   docker build -f k8s/docker/fasthttp-api.Dockerfile -t fasthttp-api:dev .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY servers/setup servers/run servers/
COPY servers/go servers/go
RUN servers/setup go \
 && cd servers/go && CGO_ENABLED=0 go build -trimpath -o bin/refserver-fasthttp ./fasthttp

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/servers/go/bin/refserver-fasthttp /refserver
ENV PORT=8080 HOST=0.0.0.0
EXPOSE 8080
ENTRYPOINT ["/refserver"]
