# syntax=docker/dockerfile:1
# podmeter: the daemon alone (no lab, tests or benchmarks), a Release build with the project's
# own flags, run on debian:12-slim with only the libraries it links. The build context is the repository root:
#   docker build -f k8s/docker/podmeter.Dockerfile -t podmeter:dev .
FROM debian:12 AS build
# scripts/setup's build dependencies (without its test tools: clang-format, prometheus, pytest).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      prometheus-cpp-dev libproc2-dev nlohmann-json3-dev libcli11-dev \
      zlib1g-dev libcurl4-openssl-dev libyaml-cpp-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY collectors collectors
COPY tracking tracking
COPY exporter exporter
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPODMETER_WERROR=ON \
      -DPODMETER_BUILD_LAB=OFF -DPODMETER_BUILD_TESTS=OFF -DPODMETER_BUILD_BENCH=OFF \
 && cmake --build build --target podmeter \
 && strip -o /podmeter build/exporter/podmeter

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libproc2-0 libcurl4 libprometheus-cpp-core1.0 libyaml-cpp0.7 libssl3 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /podmeter /usr/local/bin/podmeter
# Runs as uid 0 with all capabilities dropped but SYS_PTRACE, DAC_READ_SEARCH and NET_ADMIN:
# see k8s/base/podmeter-daemonSet.yaml for why.
EXPOSE 10101
ENTRYPOINT ["/usr/local/bin/podmeter"]
