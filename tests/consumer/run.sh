#!/usr/bin/env bash
# Installs twine into a temporary prefix, then configures, builds and runs a
# separate project that uses find_package(twine) and pkg-config.
set -euo pipefail
source_dir=$1
build_dir=$2
sanitize=${3:-OFF}
# A library built with sanitizers needs their runtime in whatever links it.
flags=""
case "$sanitize" in
  ON|on|1|TRUE|true) flags="-fsanitize=address,undefined" ;;
  tsan) flags="-fsanitize=thread" ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/tests/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer" | grep -qx "consumer got 42"
# The pkg-config file must be enough too.
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" \
  c++ $flags "$source_dir/tests/consumer/main.cpp" -o "$work/consumer-pc" \
  $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs twine)
"$work/consumer-pc" | grep -qx "consumer got 42"
echo "package consumer: ok"
