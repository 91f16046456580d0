# Thin wrapper over CMake. `make run` and `make test` are the two commands.
BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure test unit asan run bench install clean format

all: configure
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/deps.sh

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

# Every test, then every test again under ASan+UBSan. The last line printed
# is ctest's summary.
test: all asan-build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

unit: all
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan-build: deps
	@test -f $(ASAN_BUILD)/CMakeCache.txt || \
	  cmake -S . -B $(ASAN_BUILD) -DW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

asan: asan-build
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

run: all
	@scripts/demo.sh $(BUILD)

bench: all
	@bench/run-all.sh $(BUILD)

install: all
	@cmake --install $(BUILD) --prefix $(PREFIX)

format:
	@git ls-files '*.cc' '*.h' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
