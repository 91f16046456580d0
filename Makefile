# Thin wrapper over CMake. `make run` and `make test` are the two commands.
BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=
MAKEFLAGS  += --no-print-directory

.PHONY: all wasm deps configure test unit lint asan asan-build fuzz run bench install clean format

all: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The browser side alone: kernels as .wasm, wrun.js + wrun.wasm and www/ in
# $(BUILD)/www (also part of `all` when emcc is installed).
wasm: configure
	@cmake --build $(BUILD) --target wasm -j $(JOBS)

deps:
	@scripts/deps.sh

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

# clang-tidy and the file-size rule (make lint), every test, then every test
# again under ASan+UBSan. The last line printed is ctest's summary.
test: all asan-build
	@scripts/lint.sh $(BUILD) $(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# clang-tidy (.clang-tidy: checks for bugs) over lib/ and tools/, and no
# source over 600 lines. LINT_BASE=main lints only what changed since main.
lint: configure
	@scripts/lint.sh $(BUILD) $(JOBS)

unit: all
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The browser side (wasm) is the release build's, copied: it does not change
# with the native sanitizers (cmake/wasm.cmake, W_WASM_FROM).
asan-build: configure
	@if command -v emcc >/dev/null; then cmake --build $(BUILD) --target wasm -j $(JOBS); fi
	@test -f $(ASAN_BUILD)/CMakeCache.txt || \
	  cmake -S . -B $(ASAN_BUILD) -DW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	    -DW_WASM_FROM=$(abspath $(BUILD)) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

asan: asan-build
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# libFuzzer on every decoder for FUZZ_SECONDS each (clang, ASan+UBSan).
# Every target runs even when one crashes; the crashing inputs are kept in
# $(FUZZ_BUILD)/crashes/<target>/, the names of the targets that crashed are
# listed at the end, and then make fails. Targets: FUZZ_TARGETS (default all).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(shell cd test/fuzz && ls *_fuzz.cc | sed 's/\.cc$$//')
fuzz:
	@scripts/deps.sh fuzz
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || CC=clang CXX=clang++ \
	  cmake -S . -B $(FUZZ_BUILD) -DW_FUZZ=ON -DW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake $(FUZZ_BUILD) >/dev/null  # a new test/fuzz/*_fuzz.cc becomes a target
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	@crashed=""; \
	for t in $(FUZZ_TARGETS); do \
	  f=$(FUZZ_BUILD)/fuzz/$$t; name=$${t%_fuzz}; corpus=test/fuzz/corpus/$$name; \
	  [ -d $$corpus ] || corpus=test/fuzz/corpus/$${name%%_*}; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name $(FUZZ_BUILD)/crashes/$$name; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crashes/$$name/ \
	    $(FUZZ_BUILD)/corpus/$$name $$corpus || crashed="$$crashed $$t"; \
	done; \
	if [ -n "$$crashed" ]; then \
	  echo "fuzz: crashed:$$crashed (inputs in $(FUZZ_BUILD)/crashes/)"; exit 1; \
	fi; \
	echo "fuzz: no crash in $(FUZZ_TARGETS) ($(FUZZ_SECONDS) s each)"

run: all
	@scripts/demo.sh $(BUILD)

bench: all
	@bench/run-all.sh $(BUILD)

# DESTDIR stages the tree elsewhere (packaging, tests): make install DESTDIR=/tmp/root PREFIX=/usr
install: all
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

format:
	@git ls-files '*.cc' '*.h' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
