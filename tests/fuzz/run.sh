#!/usr/bin/env bash
# Builds the libFuzzer target for ParseExposition with clang (ASan+UBSan) into build-fuzz/ and
# runs it for N seconds (default 30) on tests/fuzz/corpus/ (read-only seeds; new inputs go to
# build-fuzz/corpus/). Exits non-zero on a crash, a sanitizer report, a hang or a broken invariant;
# the reproducer is left in build-fuzz/.
#   tests/fuzz/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
out=build-fuzz
mkdir -p "$out/corpus"
CXX=${FUZZ_CXX:-clang++}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found (scripts/setup installs clang)" >&2
  exit 1
fi
"$CXX" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I. tests/fuzz/exposition_parser_fuzz.cc collectors/relay/exposition_parser.cc \
  -lprometheus-cpp-core -o "$out/exposition_parser_fuzz"
cd "$out"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ./exposition_parser_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=16384 -print_final_stats=1 -dict=../tests/fuzz/exposition.dict \
  corpus ../tests/fuzz/corpus
