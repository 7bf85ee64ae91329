# A thin layer over CMake. `make demo` and `make test` do all the set-up on a
# fresh Debian 12 machine (as root): install packages, build, then run.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build demo test sanitize tsan fuzz bench docs format clean

all: build

deps:
	@.ci/install-deps

build: deps
	cmake -S . -B $(BUILD) -DTWINE_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	bash examples/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The sanitizer pass moves a 64 MiB file in the namespace test instead of 512 MiB:
# the same code paths, a fraction of the (instrumented) time.
sanitize:
	TWINE_FT_QUICK=1 $(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DTWINE_SANITIZE=ON -DTWINE_BUILD_BENCH=OFF"

# ThreadSanitizer over the whole suite (the ReactorPool runs reactors on
# several threads); any report fails the test that made it. tests/tsan.supp
# names the one report that is a tooling artefact, and why.
tsan:
	TWINE_FT_QUICK=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" $(MAKE) test BUILD=build-tsan CMAKE_FLAGS="-DTWINE_TSAN=ON -DTWINE_BUILD_BENCH=OFF"

# Every fuzz target (tests/fuzz/) for FUZZ_SECONDS each, built with clang,
# libFuzzer, ASan and UBSan; the rest of the tree is built with clang too,
# warnings as errors (g++ builds it for `make test`).
FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DTWINE_WERROR=ON -DTWINE_FUZZ=ON -DTWINE_BUILD_BENCH=OFF >/dev/null
	cmake --build build-fuzz -j$(JOBS)
	bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

bench: build
	bash bench/run_all.sh $(BUILD)

# The API reference into $(BUILD)/docs/html; any Doxygen warning fails it.
docs: build
	cmake --build $(BUILD) --target docs

format:
	find core transports protocols examples tests bench -name '*.[ch]pp' -o -name '*.c' | xargs clang-format -i

clean:
	rm -rf build build-asan build-tsan build-fuzz
