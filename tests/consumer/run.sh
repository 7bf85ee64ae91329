#!/usr/bin/env bash
# Installs twine into a temporary prefix, then configures, builds and runs a
# separate project that uses find_package(twine) and pkg-config; then does
# the same with the contents of the .deb that `cpack -G DEB` makes.
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

# consume PREFIX: find_package and pkg-config against an installed tree.
consume() {
  local prefix=$1 out=$work/from-deb
  cmake -S "$source_dir/tests/consumer" -B "$out" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
  cmake --build "$out" >/dev/null
  "$out/consumer" | grep -qx "consumer got 42"
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
    c++ $flags "$source_dir/tests/consumer/main.cpp" -o "$work/consumer-deb-pc" \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs twine)
  "$work/consumer-deb-pc" | grep -qx "consumer got 42"
}

if command -v cpack >/dev/null && command -v dpkg-deb >/dev/null; then
  (cd "$build_dir" && cpack -G DEB -B "$work/deb" >/dev/null)
  deb=$(ls "$work"/deb/libtwine-dev_*.deb)
  dpkg-deb --field "$deb" Depends | grep -q libuv1-dev
  dpkg-deb -x "$deb" "$work/root"
  # The package installs under /usr; unpacked elsewhere, the .pc file's
  # relative prefix and the CMake package still resolve.
  consume "$work/root/usr"
  echo "package consumer: ok (install tree and $(basename "$deb"))"
else
  echo "package consumer: ok (install tree; no cpack/dpkg-deb for the .deb check)"
fi
