#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) into build-fuzz/ and runs each for N
# seconds (default 30) on its seeds (read-only; new inputs go to build-fuzz/corpus-<target>/):
#   exposition_parser  ParseExposition               seeds tests/fuzz/corpus/
#   podlist            ParsePodList, ParseRfc3339     seeds tests/fuzz/corpus-podlist/
#   cgroup_parsers     cpu/memory/mountinfo/kubepods  seeds tests/fuzz/corpus-cgroup/
#   http_request       ParseHead, DecideRequest, auth seeds tests/fuzz/corpus-http/
# Exits non-zero on a crash, a sanitizer report, a hang or a broken invariant; the reproducer is
# left in build-fuzz/.
#   tests/fuzz/run.sh [seconds per target] [target...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(exposition_parser podlist cgroup_parsers http_request)
out=build-fuzz
CXX=${FUZZ_CXX:-clang++}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found (scripts/setup installs clang)" >&2
  exit 1
fi
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -I.)
for target in "${targets[@]}"; do
  case "$target" in
    exposition_parser)
      srcs=(tests/fuzz/exposition_parser_fuzz.cc collectors/relay/exposition_parser.cc)
      libs=(-lprometheus-cpp-core) seeds=tests/fuzz/corpus
      extra=(-max_len=16384 -dict=../tests/fuzz/exposition.dict) ;;
    podlist)
      srcs=(tests/fuzz/podlist_fuzz.cc collectors/kube/pod_metadata.cc collectors/base/status.cc)
      libs=() seeds=tests/fuzz/corpus-podlist extra=(-max_len=32768) ;;
    cgroup_parsers)
      srcs=(tests/fuzz/cgroup_parsers_fuzz.cc collectors/readers/cpu_stat.cc
        collectors/readers/memory_stat.cc collectors/cgroupfs/mountinfo.cc
        collectors/cgroupfs/kubepods_path.cc collectors/base/file_util.cc
        collectors/base/status.cc)
      libs=() seeds=tests/fuzz/corpus-cgroup extra=(-max_len=8192) ;;
    http_request)
      srcs=(tests/fuzz/http_request_fuzz.cc exporter/http_head.cc exporter/http_request.cc)
      libs=(-lcrypt -lcrypto) seeds=tests/fuzz/corpus-http
      extra=(-max_len=8192 -dict=../tests/fuzz/http.dict) ;;
    *)
      echo "fuzz: unknown target $target" >&2
      exit 2 ;;
  esac
  mkdir -p "$out/corpus-$target"
  "$CXX" "${flags[@]}" "${srcs[@]}" "${libs[@]}" -o "$out/${target}_fuzz"
  echo "== $target ($seconds s)"
  (cd "$out" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "./${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${extra[@]}" "corpus-$target" "../$seeds")
done
