# ncffs — see README.md. Targets: all test check install uninstall clean
# bench demo demo-stop deps.
#
# `make` only builds: it needs a C compiler, pkg-config and the five libraries
# in PKGS, and never installs anything. `make deps` installs the Debian
# packages for building and testing; `make demo`, `make test` and `make bench`,
# which exist to set a machine up, call it when something is missing, and it
# says what it installs before it does.
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PYTHON ?= /usr/bin/python3
INSTALL ?= install

PKGS := fuse3 libcurl libcrypto libcjson hiredis
# The Debian package that ships each pkg-config module, so that a missing
# library is reported as what to install.
DEB_fuse3 := libfuse3-dev
DEB_libcurl := libcurl4-openssl-dev
DEB_libcrypto := libssl-dev
DEB_libcjson := libcjson-dev
DEB_hiredis := libhiredis-dev
DEB_cmocka := libcmocka-dev
DEBIAN_PACKAGES := build-essential pkg-config libfuse3-dev fuse3 \
	libcurl4-openssl-dev libssl-dev libcjson-dev libhiredis-dev libcmocka-dev \
	redis-server python3 python3-pytest jq procps clang libclang-rt-14-dev groff-base \
	man-db valgrind cppcheck vim tmux mc tree attr openssl curl gnuplot-nox \
	ripgrep fd-find rsync

# ---- flags ------------------------------------------------------------------
# CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS belong to whoever runs make: a
# packager's own, or `make CFLAGS=-O0`. A command line replaces them whole, so
# what ncffs cannot do without (C11, the warnings, the libraries, hardening)
# lives in NCFFS_* variables instead, and the user's flags come after ours so
# that they still win where they conflict (-O0, -Wno-...).
CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wmissing-declarations -Wmissing-prototypes \
	-Wwrite-strings -Wstrict-prototypes -Wshadow -Wformat=2 -Wvla -Wundef \
	-Wnull-dereference
# Hardened as distributions build: stack canaries, a position-independent
# executable, and relocations made read-only before main() runs.
NCFFS_CFLAGS := -std=c11 $(WARNINGS) -fstack-protector-strong -fPIE
NCFFS_CPPFLAGS := -D_GNU_SOURCE -I. \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
NCFFS_LDFLAGS := -pie -Wl,-z,relro,-z,now
# -lm: client/json.c calls floor(), which only optimised gcc builds inline.
NCFFS_LDLIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm -pthread
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
DEPFLAGS = -MMD -MP
ifeq ($(CI),true)
WERROR := -Werror
endif

# SAN=1 builds everything (daemon and unit tests) with ASan and UBSan into
# build-san/, SAN=thread with TSan into build-tsan/, so sanitized and plain
# objects never mix.
ifeq ($(SAN),1)
BUILD := build-san
SAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(SAN),thread)
BUILD := build-tsan
SAN_CFLAGS := -fsanitize=thread -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=thread
else
BUILD := build
endif

# _FORTIFY_SOURCE checks nothing without optimisation (and glibc warns), so
# it comes only with an -O other than -O0 in CFLAGS; a packager who sets it
# keeps their own level; sanitized builds check the same calls themselves.
OPTIMISED := $(filter-out -O0,$(lastword $(filter -O%,$(CFLAGS))))
ifneq ($(OPTIMISED),)
ifeq ($(SAN)$(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),)
NCFFS_CPPFLAGS += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
endif
endif

COMPILE = $(CC) $(NCFFS_CPPFLAGS) $(CPPFLAGS) $(NCFFS_CFLAGS) $(SAN_CFLAGS) \
	$(CFLAGS) $(WERROR)
LINK_FLAGS = $(NCFFS_LDFLAGS) $(SAN_LDFLAGS) $(LDFLAGS)

CLIENT_SRC := $(wildcard client/*.c)
CACHE_SRC := $(wildcard cache/*.c)
FS_LIB_SRC := fs/tree.c fs/render.c fs/fetch.c fs/persist.c fs/log.c fs/prefetch.c fs/readahead.c \
	fs/views.c fs/stats.c fs/nodes.c fs/inodes.c fs/perms.c \
	fs/follow_buffer.c fs/follow.c fs/readability.c
FS_MAIN_SRC := fs/main.c fs/ops.c fs/housekeeping.c fs/dirops.c
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLIENT_SRC) $(CACHE_SRC) $(FS_LIB_SRC))
MAIN_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(FS_MAIN_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRC))

ifeq ($(SAN),)
PROGRAM := ncffs
else
PROGRAM := $(BUILD)/ncffs
endif

.PHONY: all test unit-test mount-test mount-test-oldest-first mount-test-openwhisk emulator-test doc-test tsan-test fuzz valgrind-test soak-test \
	check install uninstall clean bench demo demo-stop deps

all: $(PROGRAM)

$(PROGRAM): $(MAIN_OBJ) $(LIB_OBJ)
	$(CC) $(LINK_FLAGS) -o $@ $^ $(LDLIBS) $(NCFFS_LDLIBS)

$(BUILD)/%.o: %.c | libs-check
	@mkdir -p $(dir $@)
	$(COMPILE) $(DEPFLAGS) -c -o $@ $<

# Compiled and linked in one step; -MF/-MT name the dependency file and its
# target, which gcc would otherwise derive from an object that never exists.
$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJ) | cmocka-check
	@mkdir -p $(dir $@)
	$(COMPILE) $(DEPFLAGS) -MF $@.d -MT $@ $(LINK_FLAGS) -o $@ $< $(LIB_OBJ) \
		$(LDLIBS) $(NCFFS_LDLIBS) $(CMOCKA_LIBS)

# ---- dependencies -------------------------------------------------------
# $(call need-modules,MODULES): stop with one line naming the Debian packages
# that ship the pkg-config MODULES not found. It only looks; installing is
# for `make deps`.
need-modules = missing=; \
	command -v $(PKG_CONFIG) >/dev/null 2>&1 || missing=" pkg-config"; \
	$(foreach m,$(1),$(PKG_CONFIG) --exists $(m) 2>/dev/null || \
		missing="$$missing $(DEB_$(m))";) \
	if [ -n "$$missing" ]; then \
		echo "ncffs: missing build dependencies; install the Debian packages:$$missing" >&2; \
		exit 1; \
	fi

libs-check:
	@$(call need-modules,$(PKGS))

cmocka-check:
	@$(call need-modules,$(PKGS) cmocka)

# deps-check runs before the targets that set a machine up (demo, test,
# bench); it calls deps only when a library or tool is missing.
deps-check:
	@$(PKG_CONFIG) --exists $(PKGS) cmocka 2>/dev/null && \
	 [ -x $(PYTHON) ] && $(PYTHON) -c 'import pytest' 2>/dev/null && \
	 command -v fusermount3 >/dev/null && command -v jq >/dev/null && \
	 command -v clang >/dev/null && command -v groff >/dev/null && \
	 command -v valgrind >/dev/null && command -v tmux >/dev/null && \
	 command -v vim >/dev/null && command -v mc >/dev/null && \
	 command -v tree >/dev/null && command -v getfattr >/dev/null && \
	 command -v openssl >/dev/null && command -v curl >/dev/null && \
	 command -v gnuplot >/dev/null && command -v redis-server >/dev/null && \
	 command -v rg >/dev/null && command -v fdfind >/dev/null && \
	 command -v rsync >/dev/null || \
	 $(MAKE) --no-print-directory deps

# $(call apt-install,WHO,PACKAGES) installs those of PACKAGES that are not
# installed yet, and names them first. apt-get's own output goes to a log
# that is shown only when a step fails, so each step is one line.
apt-install = missing=$$(for p in $(2); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q 'ok installed' || echo $$p; \
	 done); \
	 if [ -z "$$missing" ]; then echo "$(1): all needed Debian packages are installed"; exit 0; fi; \
	 if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	 echo "$(1): installing with $${SUDO:+sudo }apt-get:" $$missing; \
	 $(call quietly,$(1),apt-get update,$$SUDO apt-get update) && \
	 $(call quietly,$(1),apt-get install,$$SUDO env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y $$missing)

# $(call quietly,WHO,STEP,COMMAND): one line saying how STEP went; COMMAND's
# output only if it failed.
quietly = { log=$$(mktemp "$${TMPDIR:-/tmp}/ncffs-make.XXXXXX"); \
	 printf '%s: %s ... ' "$(1)" "$(2)"; \
	 if $(3) >"$$log" 2>&1; then echo done; rm -f "$$log"; \
	 else echo failed; cat "$$log" >&2; rm -f "$$log"; false; fi; }

deps:
	@$(call apt-install,make deps,$(DEBIAN_PACKAGES))

.PHONY: deps-check libs-check cmocka-check

# ---- tests ----------------------------------------------------------------
# Everything, then again under ASan+UBSan, then the threaded parts under TSan.
test: deps-check
	$(MAKE) check unit-test emulator-test doc-test mount-test mount-test-oldest-first \
		mount-test-openwhisk soak-test
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
	tests/mount/test_paging.py tests/mount/test_api_fidelity.py \
	tests/mount/test_call_economy_views.py tests/mount/test_follow.py \
	tests/mount/test_disk_cache.py tests/mount/test_views_evidence.py
mount-test-oldest-first: $(PROGRAM)
	NCFFS_BIN=$(abspath $(PROGRAM)) NCFFS_EMULATOR_ARGS="--order oldest-first" \
		$(PYTHON) -m pytest -q -p no:cacheprovider $(CORE_MOUNT_TESTS)

# The same core against the emulator's OpenWhisk personality (/api/v1, same
# data), mounted with backend=openwhisk and AUTH from a ~/.wskprops: requests
# are counted by their NCP twins. Skipped there, each with its reason: the
# tests of NCP-only behaviour (unpaged lists, pageSize refusals and caps,
# pageNo flags, regions and platforms).
mount-test-openwhisk: $(PROGRAM)
	NCFFS_BIN=$(abspath $(PROGRAM)) NCFFS_BACKEND=openwhisk \
		$(PYTHON) -m pytest -q -rs -p no:cacheprovider $(CORE_MOUNT_TESTS)

# The cache's single-flight test, the scheduler, readahead's queue, the tsv's
# batches and the stats of 200 pollers, and the concurrent-reader mount
# tests (and follow.log's pollers), built with ThreadSanitizer: a data race
# fails them.
TSAN_UNIT_TESTS := test_cache test_scheduler test_prefetch test_views_model test_stats
tsan-test:
	$(MAKE) SAN=thread $(TSAN_UNIT_TESTS:%=build-tsan/tests/unit/%) build-tsan/ncffs
	set -e; for t in $(TSAN_UNIT_TESTS); do \
		TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/unit/$$t; done
	NCFFS_BIN=$(abspath build-tsan/ncffs) $(PYTHON) -m pytest -q -p no:cacheprovider \
		tests/mount -k "concurrent or prefetch or grep or ls_activations or tsv or test_follow or evidence"

# The core of the mount suite once with the daemon under valgrind memcheck:
# any error or definitely-lost block fails the test that caused it.
VALGRIND_TESTS := tests/mount/test_tree_shape.py tests/mount/test_file_contents.py \
	tests/mount/test_api_calls.py tests/mount/test_read_only.py \
	tests/mount/test_enoent.py tests/mount/test_lifecycle.py tests/mount/test_follow.py
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

# ---- updatedb ---------------------------------------------------------------
# The nightly updatedb walks every filesystem whose type is not in PRUNEFS of
# /etc/updatedb.conf, and a walk of an ncffs mount fetches every record of the
# account: install adds fuse.ncffs there, uninstall takes it out again (the
# rest of the line stays as it was). With DESTDIR the install goes into a
# staging tree, not this machine, so the host's /etc is left alone; the Debian
# package does the same edit in its maintainer scripts.
UPDATEDB_CONF ?= /etc/updatedb.conf
install: install-updatedb-prune
uninstall: uninstall-updatedb-prune

install-updatedb-prune uninstall-updatedb-prune: %-updatedb-prune:
	@if [ -n "$(DESTDIR)" ]; then \
		echo "DESTDIR is set: $(UPDATEDB_CONF) left alone"; \
	 elif [ -f "$(UPDATEDB_CONF)" ]; then \
		tools/updatedb-prune $(if $(filter install,$*),add,remove) "$(UPDATEDB_CONF)" && \
		echo "$(UPDATEDB_CONF): fuse.ncffs $(if $(filter install,$*),in,out of) PRUNEFS"; \
	 fi

.PHONY: install-updatedb-prune uninstall-updatedb-prune

# ---- demo and bench -------------------------------------------------------
# Each installs only what it needs, and says so in a line per step: the demo
# builds ncffs and runs the Python emulator and the tour (jq); the bench adds
# gnuplot for its plot. `make deps` (and so `make test`) installs everything.
DEMO_PACKAGES := build-essential pkg-config libfuse3-dev fuse3 \
	libcurl4-openssl-dev libssl-dev libcjson-dev libhiredis-dev python3 jq
BENCH_PACKAGES := $(DEMO_PACKAGES) procps gnuplot-nox redis-server ripgrep fd-find

demo-deps-check:
	@$(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && command -v cc >/dev/null && \
	 [ -x $(PYTHON) ] && command -v fusermount3 >/dev/null && \
	 command -v jq >/dev/null || \
	 { $(call apt-install,make demo,$(DEMO_PACKAGES)); }

bench-deps-check:
	@$(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && command -v cc >/dev/null && \
	 [ -x $(PYTHON) ] && command -v fusermount3 >/dev/null && \
	 command -v gnuplot >/dev/null && command -v ps >/dev/null && \
	 command -v redis-server >/dev/null && command -v rg >/dev/null && \
	 command -v fdfind >/dev/null || \
	 { $(call apt-install,make bench,$(BENCH_PACKAGES)); }

# BACKEND=openwhisk shows the same tree from the emulator's OpenWhisk API.
BACKEND ?= ncp
demo: demo-deps-check
	@$(call quietly,make demo,building ncffs,$(MAKE) --no-print-directory all)
	@BACKEND=$(BACKEND) tests/demo.sh start

demo-stop:
	@tests/demo.sh stop

bench: bench-deps-check
	@$(MAKE) --no-print-directory all
	$(PYTHON) tests/bench/bench.py

.PHONY: demo-deps-check bench-deps-check

# ---- Debian package -------------------------------------------------------
# make deb: ncffs_VERSION_ARCH.deb here, built by dpkg-buildpackage from a copy
# of the sources in build-deb/ (it writes its results next to the tree it
# builds, never into this directory's parent), then checked by lintian:
# an error or warning fails the target (it reports none today, nor any info
# or pedantic tag). make pkg-test (run by make test) installs it.
VERSION = $(shell sed -n 's/^\#define NCFFS_VERSION "\(.*\)"$$/\1/p' fs/main.c)
DEB_ARCH = $(shell dpkg --print-architecture)
DEB = ncffs_$(VERSION)_$(DEB_ARCH).deb
DEB_SOURCES := Makefile README.md cache client fs man tools debian
DEB_TOOLS := debhelper dpkg-dev fakeroot lintian
DEB_BUILD_PACKAGES := build-essential pkg-config libfuse3-dev libcurl4-openssl-dev \
	libssl-dev libcjson-dev $(DEB_TOOLS)
DEBIAN_PACKAGES += $(DEB_TOOLS) plocate

deb-deps-check:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null && \
	 command -v lintian >/dev/null && $(PKG_CONFIG) --exists $(PKGS) 2>/dev/null || \
	 { $(call apt-install,make deb,$(DEB_BUILD_PACKAGES)); }

deb: deb-deps-check
	rm -rf build-deb && mkdir -p build-deb/ncffs-$(VERSION)
	cp -R $(DEB_SOURCES) build-deb/ncffs-$(VERSION)/
	cd build-deb/ncffs-$(VERSION) && dpkg-buildpackage -b -us -uc
	lintian --info --display-info --fail-on error,warning build-deb/$(DEB)
	cp build-deb/$(DEB) $(DEB)

# The package's test installs it, mounts through fstab and purges it again,
# restoring /etc/fstab and /etc/updatedb.conf: root only, part of make test.
pkg-test: deps-check
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/pkg
test: pkg-test

# The other suites need plocate (updatedb) and, for pkg-test, the packaging tools.
deps-check: deps-check-pkg
deps-check-pkg:
	@command -v updatedb >/dev/null && command -v dpkg-buildpackage >/dev/null && \
	 command -v dh >/dev/null && command -v lintian >/dev/null || \
	 $(MAKE) --no-print-directory deps

clean: clean-deb
clean-deb:
	rm -rf build-deb ncffs_*.deb

.PHONY: deb deb-deps-check pkg-test deps-check-pkg clean-deb

clean:
	rm -rf build build-san build-tsan build-fuzz ncffs

-include $(shell find build build-san build-tsan -name '*.d' 2>/dev/null)
