# The two commands a newcomer needs (see README):
#   make demo   set up, build, and run the demo
#   make test   set up, build, and run every test: `make check` on this
#               machine's python3, a short fuzzing run, the thunk tests
#               on aarch64 under qemu, the Windows build under Wine, then the
#               C tests and pytest again inside Debian chroots on CPython
#               3.13 (trixie) and 3.14 (sid)
# `make check` alone is the suite on one interpreter (C tests, pytest, both
# again built with ASan+UBSan, the C tests with TSan). Everything lands in .venv*, build/ and
# .cache/ inside the checkout (chroots in /var/tmp/pytrace-chroots).

PYTHON ?= python3
VENV := .venv
ASAN_VENV := .venv-asan
PY := $(VENV)/bin/python
ASAN_PY := $(ASAN_VENV)/bin/python
PIP_QUIET := --quiet --disable-pip-version-check
# meson finds ninja on PATH; ours comes from the virtual environment.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
REFERENCE := .cache/reference/traceloggingdynamic/__init__.py
# Third-party .etl readers the interop tests check our files with.
INTEROP_PARSERS := etl-parser==1.0.1 dissect.etl==3.14
# Drives Debian's chromium in the HTML report test (its own browser download is not used).
BROWSER_DRIVER := playwright
SANITIZE_ARGS := -Csetup-args=-Db_sanitize=address,undefined -Csetup-args=-Db_lundef=false \
                 -Csetup-args=-Dc_args=-fno-sanitize-recover=all -Csetup-args=-Dbuildtype=debugoptimized -Csetup-args=-Db_lto=false
SANITIZER_RUNTIME = $(shell gcc -print-file-name=libasan.so):$(shell gcc -print-file-name=libubsan.so)

.PHONY: demo test check test-c test-python test-sanitize test-tsan test-aarch64 test-windows fuzz-smoke test-versions bench install clean

demo: install build/dev/build.ninja
	$(VENV)/bin/ninja -C build/dev simple_event
	$(PY) examples/demo.py
	@echo; echo "--- the same kind of event from C (examples/simple_event.c):"
	build/dev/simple_event

test: check fuzz-smoke test-aarch64 test-windows test-versions

check: test-c test-python test-sanitize test-tsan

# Needs root (debootstrap, chroot); see scripts/chroot-test.sh. The newest
# CPython also gets the ASan+UBSan run: code that only 3.13+ builds (the
# sys.monitoring tool of instrumented mode) is never sanitized on the host.
test-versions:
	bash scripts/chroot-test.sh --with-perf trixie sid
	bash scripts/chroot-test.sh --cmd 'make -C /src test-sanitize' sid

$(VENV)/.tools:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) meson meson-python ninja pytest $(INTEROP_PARSERS)
	$(PY) -m pip install $(PIP_QUIET) $(BROWSER_DRIVER) || echo "$(BROWSER_DRIVER) not installed: the HTML report's browser test needs it"
	touch $@

install: $(VENV)/.tools
	$(PY) -m pip install $(PIP_QUIET) --no-build-isolation .

$(REFERENCE): $(VENV)/.tools
	$(PY) -m pip install $(PIP_QUIET) --no-deps --target .cache/reference traceloggingdynamic==1.0.1

build/dev/build.ninja: $(VENV)/.tools
	$(VENV)/bin/meson setup build/dev -Dbuildtype=debug --wipe >/dev/null 2>&1 || \
	    $(VENV)/bin/meson setup build/dev -Dbuildtype=debug

test-c: build/dev/build.ninja
	$(VENV)/bin/meson test -C build/dev --print-errorlogs

test-python: install $(REFERENCE)
	TLD_REFERENCE_PATH=$(CURDIR)/$(REFERENCE) $(PY) -m pytest -q tests/python

# The whole suite again with the extension and C tests built with ASan+UBSan.
test-sanitize: $(REFERENCE)
	test -x $(ASAN_PY) || $(PYTHON) -m venv $(ASAN_VENV)
	$(ASAN_PY) -m pip install $(PIP_QUIET) meson meson-python ninja pytest $(INTEROP_PARSERS)
	$(ASAN_PY) -m pip install $(PIP_QUIET) --no-build-isolation $(SANITIZE_ARGS) .
	test -f build/asan/build.ninja || $(ASAN_VENV)/bin/meson setup build/asan -Db_sanitize=address,undefined \
	    -Dc_args=-fno-sanitize-recover=all -Dbuildtype=debugoptimized -Db_lto=false
	ASAN_OPTIONS=detect_leaks=1 $(ASAN_VENV)/bin/meson test -C build/asan --print-errorlogs
	LD_PRELOAD=$(SANITIZER_RUNTIME) ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    TLD_REFERENCE_PATH=$(CURDIR)/$(REFERENCE) TLD_SANITIZED=1 $(ASAN_PY) -m pytest -q -p no:cacheprovider tests/python

# The C tests (sessions: many writer threads, start/stop under load) with ThreadSanitizer.
test-tsan: $(VENV)/.tools
	test -f build/tsan/build.ninja || $(VENV)/bin/meson setup build/tsan -Db_sanitize=thread \
	    -Dbuildtype=debugoptimized -Db_lto=false
	$(VENV)/bin/meson test -C build/tsan --print-errorlogs

# The thunk arena and jitdump C tests cross-built for aarch64 and run under
# qemu-aarch64-static (Debian gcc-aarch64-linux-gnu, qemu-user-static).
test-aarch64:
	bash tests/c/run_aarch64_thunk_test.sh

# The Windows x64 build from Linux: the C core, ETW sink, thunk arena and
# their C tests cross-compiled with mingw-w64 and run under Wine, the ETW
# descriptors compared with the Linux build's, and the two Python extension
# DLLs built against CPython's Windows headers (scripts/test-windows.sh;
# Debian gcc-mingw-w64-x86-64, wine64, wine).
test-windows: build/dev/build.ninja
	bash scripts/test-windows.sh

# A short libFuzzer run over the .etl reader and decoder (needs clang).
FUZZ_SECONDS ?= 30
fuzz-smoke:
	@if command -v clang >/dev/null; then tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS); \
	else echo "fuzz-smoke: clang not installed, fuzzing skipped"; \
	     if [ -n "$$CI" ]; then exit 1; fi; fi

bench: install $(REFERENCE)
	TLD_REFERENCE_PATH=$(CURDIR)/$(REFERENCE) $(PY) bench/bench_event.py

clean:
	rm -rf build $(VENV) $(ASAN_VENV) .cache
