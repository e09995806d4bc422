# syncengine - one Makefile, out-of-tree build directory.
#
#   make                    build build/syncengine and build/plugins/*.so
#   make test               the whole test suite (unit + integration)
#   make install            PREFIX=/usr/local DESTDIR= (binary, plugins, headers, syncengine.pc,
#                           man pages, docs, the systemd unit)
#   make SANITIZE=address,undefined test      (or: make test-asan)
#   make V=1                show full command lines
#
# Sources are found by wildcard, so adding a file needs no Makefile change:
#   core/*.c, core/*/*.c           -> the engine (core/main.c holds main(); core/http/ is the HTTP API)
#   plugins/NAME/*.c              -> build/plugins/NAME.so
#   tests/unit/test_*.c           -> unit tests linked with the core
#   tests/unit/NAME/test_*.c      -> unit tests linked with plugin NAME's objects

VERSION     := 0.1.0
# the plugin ABI version, as include/sync/plugin.h says (syncengine.pc's abi_version)
ABI_VERSION := $(shell sed -n 's/^\#define SYNC_ABI_MAJOR \([0-9]*\).*/\1/p' include/sync/plugin.h).$(shell sed -n 's/^\#define SYNC_ABI_MINOR \([0-9]*\).*/\1/p' include/sync/plugin.h)
O           ?= build
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
PLUGINDIR   ?= $(LIBDIR)/syncengine/plugins
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DATADIR     ?= $(PREFIX)/share/syncengine
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/syncengine
# /usr/local/lib/systemd/system and /usr/lib/systemd/system are on systemd's unit path;
# for other prefixes link or copy the unit into /etc/systemd/system (docs/user-guide.md)
SYSTEMDUNITDIR ?= $(LIBDIR)/systemd/system

CC          ?= cc
PKG_CONFIG  ?= pkg-config
OPT         ?= -O2 -g
WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
# Messages are truncated on purpose when they do not fit; gcc's guesswork about that is noise.
ifeq ($(shell $(CC) -Werror -Wno-format-truncation -x c -c -o /dev/null /dev/null 2>/dev/null && echo y),y)
WARN        += -Wno-format-truncation
endif
# The install paths reach the code through $(O)/gen/syncengine_paths.h, which is rewritten
# whenever they change, so `make && make install PREFIX=/opt/se` rebuilds what depends on them.
CPPFLAGS    += -Iinclude -Icore -I$(O)/gen -D_GNU_SOURCE -DSYNCENGINE_VERSION='"$(VERSION)"'
CFLAGS      ?=
ALL_CFLAGS   = -std=c11 $(OPT) $(WARN) -pthread -MMD -MP $(CFLAGS)
LDFLAGS     ?=

ifneq ($(SANITIZE),)
ALL_CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS     += -fsanitize=$(SANITIZE)
endif
ifneq ($(FUZZ),)
ALL_CFLAGS  += -fsanitize=fuzzer-no-link
endif

# libcurl is not among them: the Salesforce plugin links and initializes it itself
CORE_LIBS    = $(shell $(PKG_CONFIG) --libs jansson inih libmicrohttpd) -ldl -lpthread -lm
# sd_notify (Type=notify, the watchdog) when libsystemd is there; without it the calls do nothing
ifeq ($(shell $(PKG_CONFIG) --exists libsystemd && echo y),y)
CORE_LIBS   += $(shell $(PKG_CONFIG) --libs libsystemd)
CPPFLAGS    += -DSYNCC_HAVE_SYSTEMD
endif
LIBS_stdout         = -lm
LIBS_salesforce     = $(shell $(PKG_CONFIG) --libs libcurl jansson) -lm
CFLAGS_salesforce   = $(shell $(PKG_CONFIG) --cflags libcurl jansson)
# plugins/http includes the public headers only (<sync/sync.h>), as a third-party connector does
LIBS_http           = $(shell $(PKG_CONFIG) --libs libcurl jansson) -lm
CFLAGS_http         = $(shell $(PKG_CONFIG) --cflags libcurl jansson)
LIBS_sink-postgres   = $(shell $(PKG_CONFIG) --libs libpq) -lm
CFLAGS_sink-postgres = $(shell $(PKG_CONFIG) --cflags libpq)
LIBS_sqlite          = $(shell $(PKG_CONFIG) --libs sqlite3 libcurl jansson) -lpthread -lm
CFLAGS_sqlite        = $(shell $(PKG_CONFIG) --cflags sqlite3 libcurl jansson)
CMOCKA_LIBS  = $(shell $(PKG_CONFIG) --libs cmocka)

ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-7s %s\n'
endif

.DELETE_ON_ERROR:
.PHONY: FORCE build-clang test-suite test-sanitizers test-valgrind tests-built fuzz-bins fuzz-run deps all test test-unit test-integration test-asan valgrind install uninstall clean demo demo-crm demo-edge demo-markmail bench bench-quick bench-tenants bench-crm bench-edge soak fuzz fuzz-quick docs check-docs

# core/SUBSYSTEM/*.c (core/http/: the daemon's HTTP API over libmicrohttpd) join the core library
CORE_SRC     := $(filter-out core/main.c,$(wildcard core/*.c core/*/*.c))
CORE_OBJ     := $(CORE_SRC:%.c=$(O)/%.o)
MAIN_OBJ     := $(O)/core/main.o
CORE_LIB     := $(O)/libsynccore.a

PLUGIN_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c))))
PLUGIN_NAMES := $(sort $(PLUGIN_NAMES))
PLUGIN_SOS   := $(PLUGIN_NAMES:%=$(O)/plugins/%.so)

UNIT_SRC     := $(wildcard tests/unit/test_*.c)
UNIT_BIN     := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
PUNIT_SRC    := $(wildcard tests/unit/*/test_*.c)
PUNIT_BIN    := $(PUNIT_SRC:tests/unit/%.c=$(O)/tests/%)
TEST_PLUGIN_SRC := $(wildcard tests/abi/*.c)
TEST_PLUGINS := $(TEST_PLUGIN_SRC:tests/abi/%.c=$(O)/tests/abi/%.so)

all: $(O)/syncengine $(PLUGIN_SOS) $(O)/syncengine.pc $(O)/syncengine.service

# ---- install paths: files derived from them are rebuilt when they change
PATHS_H     := $(O)/gen/syncengine_paths.h
PATHS_STAMP := $(O)/gen/paths
# rewritten only when the text changes, so an unchanged PREFIX rebuilds nothing
define write_if_changed
	@mkdir -p $(dir $@)
	$(Q)printf '%s\n' $(1) > $@.tmp && if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
endef
$(PATHS_H): FORCE
	$(call write_if_changed,'/* generated by make from the install paths; do not edit */' \
	    '#define SYNCENGINE_PLUGINDIR "$(PLUGINDIR)"' '#define SYNCENGINE_DATADIR "$(DATADIR)"')
$(PATHS_STAMP): FORCE
	$(call write_if_changed,'PREFIX=$(PREFIX)' 'BINDIR=$(BINDIR)' 'INCLUDEDIR=$(INCLUDEDIR)' \
	    'PLUGINDIR=$(PLUGINDIR)' 'DATADIR=$(DATADIR)' 'VERSION=$(VERSION)')

# ---- engine
# (the -MMD dependency files add $(PATHS_H) to the objects that include it)
$(O)/core/%.o: core/%.c | $(PATHS_H)
	@mkdir -p $(dir $@)
	$(quiet) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags jansson inih libmicrohttpd) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ)
	$(quiet) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/syncengine: $(MAIN_OBJ) $(CORE_LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(MAIN_OBJ) $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS)

# ---- plugins: position-independent, everything hidden but the entry symbol
$(O)/plugins/%.o: plugins/%.c
	@mkdir -p $(dir $@)
	$(quiet) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fPIC -fvisibility=hidden $(CFLAGS_$(firstword $(subst /, ,$*))) -c -o $@ $<

# One link rule per plugin directory.
define plugin_rule
$(O)/plugins/$(1).so: $(patsubst plugins/%.c,$(O)/plugins/%.o,$(wildcard plugins/$(1)/*.c))
	@mkdir -p $$(dir $$@)
	$$(quiet) LINK $$@
	$$(Q)$$(CC) $$(ALL_CFLAGS) -shared -fPIC -Wl,--no-undefined -o $$@ $$^ $$(LDFLAGS) $$(LIBS_$(1))
endef
$(foreach p,$(PLUGIN_NAMES),$(eval $(call plugin_rule,$(p))))

# ---- tests
$(O)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(quiet) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags jansson inih libcurl libpq) -Iplugins -c -o $@ $<

$(UNIT_BIN): $(O)/tests/%: $(O)/tests/%.o $(CORE_LIB)
	$(quiet) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS) $(CMOCKA_LIBS)

# tests/unit/NAME/test_x.c links every object of plugin NAME (and the core).
define plugin_test_rule
$(O)/tests/$(1): $(O)/tests/$(1).o $(patsubst plugins/%.c,$(O)/plugins/%.o,$(wildcard plugins/$(firstword $(subst /, ,$(1)))/*.c)) $(CORE_LIB)
	$$(quiet) LINK $$@
	$$(Q)$$(CC) $$(ALL_CFLAGS) -o $$@ $$(filter %.o,$$^) $(CORE_LIB) $$(LDFLAGS) $$(LIBS_$(firstword $(subst /, ,$(1)))) $$(CORE_LIBS) $$(CMOCKA_LIBS)
endef
$(foreach t,$(PUNIT_SRC:tests/unit/%.c=%),$(eval $(call plugin_test_rule,$(t))))

# Deliberately good and broken plugins for the loader tests.
$(O)/tests/abi/%.so: tests/abi/%.c
	@mkdir -p $(dir $@)
	$(quiet) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fPIC -shared -fvisibility=hidden -o $@ $< $(LDFLAGS)

TEST_BINS := $(UNIT_BIN) $(PUNIT_BIN) $(TEST_PLUGINS)

# ---- fuzz targets (libFuzzer; built by `make fuzz` in build-fuzz/ with clang)
#   tests/fuzz/fuzz_NAME.c        linked with the core, seeds in tests/fuzz/corpus/NAME/
#   tests/fuzz/PLUGIN/fuzz_NAME.c linked with the core, plugin PLUGIN's objects and the
#                                 other (non-fuzz_) sources of tests/fuzz/PLUGIN/
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_PSRC    := $(wildcard tests/fuzz/*/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%) $(FUZZ_PSRC:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_TIME    ?= 300

$(O)/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(quiet) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags jansson inih libcurl) -Iplugins -c -o $@ $<

define fuzz_rule
$(O)/fuzz/$(1): $(O)/fuzz/$(1).o $(if $(findstring /,$(1)),$(patsubst plugins/%.c,$(O)/plugins/%.o,$(wildcard plugins/$(firstword $(subst /, ,$(1)))/*.c)) $(patsubst tests/fuzz/%.c,$(O)/fuzz/%.o,$(filter-out %/fuzz_%.c,$(wildcard tests/fuzz/$(dir $(1))*.c)))) $(CORE_LIB)
	$$(quiet) LINK $$@
	$$(Q)$$(CC) $$(ALL_CFLAGS) -fsanitize=fuzzer -o $$@ $$(filter %.o,$$^) $(CORE_LIB) $$(LDFLAGS) $(if $(findstring /,$(1)),$$(LIBS_$(firstword $(subst /, ,$(1))))) $$(CORE_LIBS)
endef
$(foreach t,$(FUZZ_SRC:tests/fuzz/%.c=%) $(FUZZ_PSRC:tests/fuzz/%.c=%),$(eval $(call fuzz_rule,$(t))))

fuzz-bins: $(FUZZ_BIN)

# Runs every fuzz target for FUZZ_TIME seconds on a scratch copy of its seeds
# (tests/fuzz/corpus/NAME/), with the dictionary tests/fuzz/NAME.dict when there is one.
fuzz-run: fuzz-bins
	$(Q)set -e; for f in $(FUZZ_BIN); do \
	    name=$$(basename $$f); seeds=tests/fuzz/corpus/$${name#fuzz_}; scratch=$(O)/fuzz/corpus-$${name#fuzz_}; \
	    mkdir -p $$scratch; echo "  FUZZ    $$name ($(FUZZ_TIME)s)"; \
	    dict=tests/fuzz/$${name#fuzz_}.dict; [ -f $$dict ] && dict=-dict=$$dict || dict=; \
	    $$f -max_total_time=$(FUZZ_TIME) -max_len=4096 -print_final_stats=1 $$dict $$scratch $$seeds 2>$$scratch.log \
	        || { tail -n 40 $$scratch.log; exit 1; }; \
	    grep -h "stat::number_of_executed_units" $$scratch.log | sed "s/^/          /"; \
	    [ -z "$$SYNC_TEST_SUMMARY" ] || echo "1 0 0" >> "$$SYNC_TEST_SUMMARY"; \
	done

fuzz:
	$(Q)$(MAKE) --no-print-directory O=build-fuzz CC=clang SANITIZE=address,undefined FUZZ=1 OPT="-O1 -g" fuzz-run
fuzz-quick:
	$(Q)$(MAKE) --no-print-directory -j$(BUILD_JOBS) O=build-fuzz CC=clang SANITIZE=address,undefined FUZZ=1 OPT="-O1 -g" fuzz-bins
	$(Q)$(MAKE) --no-print-directory O=build-fuzz CC=clang SANITIZE=address,undefined FUZZ=1 OPT="-O1 -g" FUZZ_TIME=15 fuzz-run

# The whole suite, as CI runs it: everything, then the sanitizer, valgrind
# and fuzzing passes.  For a quicker loop while working: `make test-suite`,
# or `TESTS=name tests/run.sh`.
SUMMARY := $(abspath $(O))/test-summary
# The builds use every core (BUILD_JOBS), the tests their own JOBS: a plain
# `make test` would otherwise compile each of its four builds on one core.
BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test:
	$(Q)mkdir -p $(O) && rm -f $(SUMMARY)
	$(Q)$(MAKE) --no-print-directory -j$(BUILD_JOBS) all tests-built
	$(Q)echo "== unit and integration tests ($$(date +%T))"
	$(Q)$(MAKE) --no-print-directory SYNC_TEST_SUMMARY=$(SUMMARY) test-suite
	$(Q)$(MAKE) --no-print-directory -j$(BUILD_JOBS) build-clang
	$(Q)$(MAKE) --no-print-directory SYNC_TEST_SUMMARY=$(SUMMARY) test-sanitizers
	$(Q)$(MAKE) --no-print-directory SYNC_TEST_SUMMARY=$(SUMMARY) test-valgrind
	$(Q)echo "== fuzzing ($$(date +%T))"
	$(Q)$(MAKE) --no-print-directory SYNC_TEST_SUMMARY=$(SUMMARY) fuzz-quick
	$(Q)awk '{p += $$1; f += $$2; s += $$3} END {print "\nall stages: " p " passed, " f " failed, " s " skipped"}' $(SUMMARY)
	$(Q)echo "== done ($$(date +%T))"

# Everything, tests included, compiled by clang as well (-Werror, in build-clang/).
build-clang:
	$(Q)echo "== build with clang ($$(date +%T))"
	$(Q)$(MAKE) --no-print-directory O=build-clang CC=clang all tests-built

# Unit and integration tests on the normal build.
# Tests mostly wait on servers and sleeps: three at a time keep two cores busy
# (the sanitizer stage too; valgrind's engines are busier: two at a time).
SUITE_JOBS ?= 3
test-suite: all $(TEST_BINS)
	$(Q)O=$(O) JOBS=$(SUITE_JOBS) tests/run.sh

test-unit: all $(TEST_BINS)
	$(Q)O=$(O) tests/run.sh unit

test-integration: all $(TEST_BINS)
	$(Q)O=$(O) tests/run.sh integration

# Third-party leaks the program cannot free, with reasons (tests/lsan.supp).
LSAN_OPTS := suppressions=$(abspath tests/lsan.supp):print_suppressions=0

# Under AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/: every
# unit test and the integration tests that drive the most engine code.
# (sqlite_sink is left to the plain suite: its "two engines at once" case
# depends on SQLite handing its write lock over between batches, which the
# sanitizers' slower start makes a matter of luck; sqlite_check covers the
# plugin's code here.  henk_e2e's 50,000 contacts run the same code as the
# henk_* tests listed, a third of this stage's time for no path of its own.)
SANITIZER_TESTS ?= unit/ henk_daemon henk_multi henk_parallel henk_second_business fault_token_expired \
                   fault_pg_restart fault_rate_limit fault_refresh_revoked fault_secrets fault_http_500 \
                   fault_conn_reset fault_truncated_body fault_nonjson_body badinput_config badinput_plugin \
                   badinput_records badinput_mapping example_jsonl sf_source pg_sink abi_cli \
                   status_cli plugins_tryout progress_tty daemon_notify http_api http_metrics http_lease \
                   http_dashboard http_tls sqlite_check sf_sink$$ pg_source$$ d1_sink twoway_push http_source$$ \
                   conversations_sync verify_diff d1_verify markmail_sync pg_resolve describe_sf
test-sanitizers:
	$(Q)$(MAKE) --no-print-directory -j$(BUILD_JOBS) O=build-asan SANITIZE=address,undefined OPT="-O1 -g" all tests-built
	$(Q)echo "== under AddressSanitizer + UndefinedBehaviorSanitizer ($$(date +%T))"
	$(Q)O=build-asan LSAN_OPTIONS=$(LSAN_OPTS) JOBS=$(SUITE_JOBS) TESTS="$(SANITIZER_TESTS)" tests/run.sh

# The whole suite under ASan + UBSan.
test-asan:
	$(Q)LSAN_OPTIONS=$(LSAN_OPTS) $(MAKE) --no-print-directory O=build-asan SANITIZE=address,undefined OPT="-O1 -g" test-suite

# Under valgrind memcheck (unit tests and every engine process of the chosen
# integration tests); `make valgrind VALGRIND_TESTS=` runs the whole suite.
# Chosen for paths of their own: the daemon, a plugin built out of the tree,
# the checks of each connector, the HTTP server, the templates, D1's login and
# the integrity rules.  The fault and bad-input tests run under the
# sanitizers; the Salesforce stand-in's own unit test is a test tool, not the
# product.
VALGRIND_TESTS ?= unit/ !test_stub henk_daemon example_jsonl plugins_tryout http_tls http_dashboard sqlite_check \
                  http_source_check sf_sink_check map_templates d1_auth verify_rules
test-valgrind valgrind: all $(TEST_BINS)
	$(Q)echo "== under valgrind memcheck ($$(date +%T))"
	$(Q)O=$(O) SYNC_TEST_VALGRIND=1 JOBS=2 TESTS="$(VALGRIND_TESTS)" tests/run.sh

tests-built: $(TEST_BINS)

# ---- pkg-config file for plugin authors
$(O)/syncengine.pc: syncengine.pc.in Makefile include/sync/plugin.h $(PATHS_STAMP)
	@mkdir -p $(dir $@)
	$(quiet) GEN $@
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@ABI_VERSION@|$(ABI_VERSION)|g' $< > $@

# ---- the systemd unit, with the installed binary's path
$(O)/syncengine.service: conf/syncengine.service Makefile $(PATHS_STAMP)
	@mkdir -p $(dir $@)
	$(quiet) GEN $@
	$(Q)sed -e 's|@BINDIR@|$(BINDIR)|g' $< > $@

# ---- install
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(INCLUDEDIR)/sync \
	           $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DATADIR)/conf
	install -m 755 $(O)/syncengine $(DESTDIR)$(BINDIR)/syncengine
	install -m 755 $(PLUGIN_SOS) $(DESTDIR)$(PLUGINDIR)/
	install -m 644 include/sync/*.h $(DESTDIR)$(INCLUDEDIR)/sync/
	install -m 644 $(O)/syncengine.pc $(DESTDIR)$(PKGCONFIGDIR)/syncengine.pc
	install -m 644 conf/*.ini conf/*.sql $(DESTDIR)$(DATADIR)/conf/
	install -d $(DESTDIR)$(DATADIR)/conf/henk.d $(DESTDIR)$(DATADIR)/conf/examples
	install -m 644 conf/henk.d/* $(DESTDIR)$(DATADIR)/conf/henk.d/
	install -m 644 conf/examples/*.ini $(DESTDIR)$(DATADIR)/conf/examples/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	           $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)/plugins
	install -m 644 $(O)/syncengine.service $(DESTDIR)$(SYSTEMDUNITDIR)/syncengine.service
	install -m 644 docs/man/syncengine.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/man/syncengine-plugin.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 docs/man/syncengine.ini.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 README.md LICENSE docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 docs/plugins/*.md $(DESTDIR)$(DOCDIR)/plugins/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/syncengine $(DESTDIR)$(PKGCONFIGDIR)/syncengine.pc
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/syncengine.service $(DESTDIR)$(MANDIR)/man1/syncengine.1 \
	      $(DESTDIR)$(MANDIR)/man3/syncengine-plugin.3 $(DESTDIR)$(MANDIR)/man5/syncengine.ini.5
	rm -rf $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(INCLUDEDIR)/sync $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)

# The Henk sync on a throwaway database and the Salesforce stand-in (installs missing packages).
demo:
	$(Q)O=$(O) sh tests/demo/demo.sh

# The edge sync (conf/edge.ini) both ways, then verify, rows changed behind its back, and the fix.
demo-edge:
	$(Q)O=$(O) sh tests/demo/edge_demo.sh

# docs/plugins/NAME.md from the plugins' option tables (followed by plugins/NAME/docs.md, the written part,
# where a plugin has one), and the man pages from the same tables and the
# command line's help (tests/integration/docs_current.sh and man_current.sh keep them current).
DOC_PLUGINS := salesforce postgres sqlite generate stdout null http
MAN_PAGES   := syncengine.1 syncengine.ini.5 syncengine-plugin.3
docs: all
	$(Q)mkdir -p docs/plugins docs/man
	$(Q)for p in $(DOC_PLUGINS); do $(O)/syncengine plugins --plugin-dir $(O)/plugins --describe $$p --markdown > docs/plugins/$$p.md || exit 1; \
	    if [ -f plugins/$$p/docs.md ]; then cat plugins/$$p/docs.md >> docs/plugins/$$p.md; fi; done
	$(Q)for m in $(MAN_PAGES); do $(O)/syncengine help --man $${m%.*} --plugin-dir $(O)/plugins > docs/man/$$m || exit 1; done

# The performance benchmark (docs/performance.md): 10k, 100k and 1M records, ~30 minutes.
bench: all
	$(Q)O=$(O) bench/run.sh

bench-quick: all
	$(Q)O=$(O) bench/run.sh --quick

# The edge sync: PostgreSQL -> SQLite initial load of 1,000,000 rows against sqlite3's .import (bench/edge_load.sh).
bench-edge: all
	$(Q)O=$(O) bench/edge_load.sh
	$(Q)O=$(O) bench/edge_verify.sh

# 1,000 tenants of 40 records on one daemon: a full and an idle cycle (bench/tenants.sh).
bench-tenants: all
	$(Q)O=$(O) bench/tenants.sh

# The two-way CRM job's figures: push 10,000 new contacts, read them back unchanged (bench/crm_push.sh).
bench-crm: all
	$(Q)O=$(O) sh bench/crm_push.sh

# The MarkMail job's figures: 10,000 new contacts, 100,000 email events, an idle run (bench/markmail.sh).
bench-markmail: all
	$(Q)O=$(O) sh bench/markmail.sh

# The two-way CRM job on a terminal: rows pushed, an edit pulled, a conflict under each policy, an idle run.
demo-crm: all
	$(Q)O=$(O) sh tests/demo/demo_crm.sh

# MarkMail (conf/markmail.ini): contacts, a list as a campaign with members, 1,000 events as tasks, an idle run.
demo-markmail: all
	$(Q)O=$(O) sh tests/demo/demo_markmail.sh

# Long reliability runs: 200 SIGKILL trials over 300k records, every fault test repeated.
soak: all $(TEST_BINS)
	$(Q)O=$(O) tests/soak/run.sh

# Installs the Debian packages needed to build and test (as root or through sudo).
deps:
	$(Q)sh tests/install-deps.sh

clean:
	rm -rf $(O) build-asan build-fuzz

-include $(shell find $(O) -name '*.d' 2>/dev/null)
