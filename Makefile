# ncffs — see README.md. Targets: all test check install uninstall clean
# bench demo demo-stop deps.
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PYTHON ?= /usr/bin/python3
INSTALL ?= install

PKGS := fuse3 libcurl libcrypto libcjson
DEBIAN_PACKAGES := build-essential pkg-config libfuse3-dev fuse3 \
	libcurl4-openssl-dev libssl-dev libcjson-dev libcmocka-dev \
	python3 python3-pytest jq procps clang libclang-rt-14-dev groff-base \
	man-db valgrind cppcheck vim tmux mc tree attr openssl curl

WARNINGS := -Wall -Wextra -Wmissing-declarations -Wwrite-strings \
	-Wstrict-prototypes -Wshadow
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARNINGS)
ifeq ($(CI),true)
CFLAGS += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -I. $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -pthread
DEPFLAGS = -MMD -MP

# SAN=1 builds everything (daemon and unit tests) with ASan and UBSan into
# build-san/, SAN=thread with TSan into build-tsan/, so sanitized and plain
# objects never mix.
ifeq ($(SAN),1)
BUILD := build-san
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SAN),thread)
BUILD := build-tsan
CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
else
BUILD := build
endif

CLIENT_SRC := $(wildcard client/*.c)
CACHE_SRC := $(wildcard cache/*.c)
FS_LIB_SRC := fs/tree.c fs/render.c fs/fetch.c fs/log.c fs/prefetch.c \
	fs/parallel.c fs/views.c fs/stats.c fs/nodes.c fs/inodes.c
FS_MAIN_SRC := fs/main.c fs/ops.c fs/housekeeping.c
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLIENT_SRC) $(CACHE_SRC) $(FS_LIB_SRC))
MAIN_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(FS_MAIN_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRC))

ifeq ($(SAN),)
PROGRAM := ncffs
else
PROGRAM := $(BUILD)/ncffs
endif

.PHONY: all test unit-test mount-test mount-test-oldest-first emulator-test doc-test tsan-test fuzz valgrind-test soak-test \
	check install uninstall clean bench demo demo-stop deps

all: deps-check $(PROGRAM)

$(PROGRAM): $(MAIN_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) \
		$(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# ---- dependencies -------------------------------------------------------
# deps-check is cheap and runs before every build; it calls deps (apt-get)
# only when a library or tool is missing.
deps-check:
	@$(PKG_CONFIG) --exists $(PKGS) cmocka 2>/dev/null && \
	 [ -x $(PYTHON) ] && $(PYTHON) -c 'import pytest' 2>/dev/null && \
	 command -v fusermount3 >/dev/null && command -v jq >/dev/null && \
	 command -v clang >/dev/null && command -v groff >/dev/null && \
	 command -v valgrind >/dev/null && command -v tmux >/dev/null && \
	 command -v vim >/dev/null && command -v mc >/dev/null && \
	 command -v tree >/dev/null && command -v getfattr >/dev/null && \
	 command -v openssl >/dev/null && command -v curl >/dev/null || \
	 $(MAKE) --no-print-directory deps

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	 $$SUDO apt-get update -qq && \
	 DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEBIAN_PACKAGES)

.PHONY: deps-check

# ---- tests ----------------------------------------------------------------
# Everything, then again under ASan+UBSan, then the threaded parts under TSan.
test: deps-check
	$(MAKE) check unit-test emulator-test doc-test mount-test mount-test-oldest-first soak-test
	$(MAKE) SAN=1 unit-test mount-test
	$(MAKE) tsan-test valgrind-test

unit-test: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

emulator-test:
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/emulator

doc-test: $(PROGRAM)
	NCFFS_BIN=$(abspath $(PROGRAM)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/doc

mount-test: $(PROGRAM)
	NCFFS_BIN=$(abspath $(PROGRAM)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/mount

# The API does not document the order of activation lists: the core of the
# mount suite runs again against an emulator that lists oldest first.
CORE_MOUNT_TESTS := tests/mount/test_tree_shape.py tests/mount/test_file_contents.py \
	tests/mount/test_api_calls.py tests/mount/test_enoent.py \
	tests/mount/test_views_latest_failed.py tests/mount/test_views_tsv.py \
	tests/mount/test_views_activation_files.py tests/mount/test_call_economy.py \
	tests/mount/test_paging.py
mount-test-oldest-first: $(PROGRAM)
	NCFFS_BIN=$(abspath $(PROGRAM)) NCFFS_EMULATOR_ARGS="--order oldest-first" \
		$(PYTHON) -m pytest -q -p no:cacheprovider $(CORE_MOUNT_TESTS)

# The cache's single-flight test and the concurrent-reader mount tests,
# built with ThreadSanitizer: a data race fails them.
tsan-test:
	$(MAKE) SAN=thread build-tsan/tests/unit/test_cache build-tsan/ncffs
	TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/unit/test_cache
	NCFFS_BIN=$(abspath build-tsan/ncffs) $(PYTHON) -m pytest -q -p no:cacheprovider \
		tests/mount -k "concurrent or prefetch or grep"

# The core of the mount suite once with the daemon under valgrind memcheck:
# any error or definitely-lost block fails the test that caused it.
VALGRIND_TESTS := tests/mount/test_tree_shape.py tests/mount/test_file_contents.py \
	tests/mount/test_api_calls.py tests/mount/test_read_only.py \
	tests/mount/test_enoent.py tests/mount/test_lifecycle.py
valgrind-test: $(PROGRAM)
	NCFFS_BIN=$(abspath $(PROGRAM)) \
	NCFFS_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99" \
		$(PYTHON) -m pytest -q -p no:cacheprovider $(VALGRIND_TESTS)

# 10 readers against a flaky API (10% failures and resets) for SOAK_SECONDS.
SOAK_SECONDS ?= 60
soak-test: $(PROGRAM)
	NCFFS_BIN=$(abspath $(PROGRAM)) SOAK_SECONDS=$(SOAK_SECONDS) \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/soak

FUZZ_SECONDS ?= 10
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

check: $(PROGRAM)
	! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|gets)\s*\(' \
		client/*.c cache/*.c fs/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -I. client cache fs

# ---- install ----------------------------------------------------------------
install: $(PROGRAM)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 0755 $(PROGRAM) $(DESTDIR)$(BINDIR)/ncffs
	$(INSTALL) -m 0644 man/ncffs.1 $(DESTDIR)$(MANDIR)/man1/ncffs.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ncffs $(DESTDIR)$(MANDIR)/man1/ncffs.1

# ---- demo and bench -------------------------------------------------------
demo: all
	@tests/demo.sh start

demo-stop:
	@tests/demo.sh stop

bench: all
	$(PYTHON) tests/bench/bench.py

clean:
	rm -rf build build-san build-tsan build-fuzz ncffs

-include $(shell find build build-san build-tsan -name '*.d' 2>/dev/null)
