# wgc - declarative WireGuard policy routing compiler.
#
#   make            build ./wgc
#   make check      unit, golden, error-corpus and network-namespace tests (ASan/UBSan build)
#   make asan       build ./build/asan/wgc with AddressSanitizer and UBSan
#   make demo       build, then `wgc plan`/`compile` an example inside a throwaway namespace
#   make bench      benchmarks: wgc, the tools it replaces and a raw netlink floor (bench/run.sh)

CC      ?= cc
PKGS    := libmnl libnftables jansson libsystemd
CFLAGS  ?= -O2 -g
# CPPFLAGS and LDFLAGS from the environment are used too (a distribution's hardening flags).
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -pthread
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

# The sanitizer build is the test build: it also compiles in fault injection (WGC_FAULT_AT).
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -DWGC_TEST_FAULTS

# One static library per layer (see ARCHITECTURE.md). model/ uses nothing of ours; the compiler
# (grammar/ + compiler/) and the runtime each use model/ and never each other; only the command line
# (wgc.c, wgc_kernel.c) uses both. Every include names its folder, from -I. ("model/state.h").
MODEL_SRCS    := model/state.c model/kind.c model/describe.c model/state_json.c model/state_json_write.c model/state_json_read.c model/key.c model/xalloc.c model/nft_doc.c model/sysctl_key.c model/cgset.c
COMPILER_SRCS := grammar/parse.c compiler/ast.c compiler/diag.c compiler/compile.c compiler/check.c \
                 compiler/check_names.c compiler/check_values.c compiler/check_tunnel.c compiler/check_dns.c \
                 compiler/check_stmts.c compiler/check_forward.c compiler/check_policy.c compiler/allocate.c compiler/lower.c compiler/lower_nft.c compiler/lower_cgroup.c compiler/emit_ip.c \
                 compiler/emit_nft.c compiler/emit_json.c compiler/fmt.c compiler/suggest.c compiler/words.c \
                 compiler/check_overlap.c compiler/check_lan.c compiler/check_failclosed.c
COMPILER_SRCS += compiler/check_sets.c compiler/check_except.c compiler/policy.c compiler/lower_dns.c compiler/lower_dns_nft.c
RUNTIME_SRCS  := runtime/kinds.c runtime/nl.c runtime/rtnl_read.c runtime/rtnl_write.c runtime/wg.c runtime/wg_userspace.c runtime/wg_common.c \
                 runtime/wg_uapi.c runtime/wg_genl.c runtime/curve25519.c runtime/nft.c runtime/sysctl.c \
                 runtime/observe.c runtime/diff.c runtime/plan_print.c runtime/apply.c runtime/records.c \
                 runtime/state_valid.c runtime/nft_body.c runtime/plan_file.c runtime/cgroup.c
MODEL_SRCS    += model/mtu.c model/hash.c model/state_bin.c
COMPILER_SRCS += compiler/check_allowed.c compiler/check_prefix.c compiler/intent_values.c compiler/intent_prefixes.c compiler/intent_forest.c compiler/intent_cgroups.c compiler/intent_tuples.c compiler/intern.c
RUNTIME_SRCS  += runtime/mtu.c
RUNTIME_SRCS  += runtime/dns.c runtime/dns_resolved.c runtime/dns_resolvconf.c runtime/dns_record.c
RUNTIME_SRCS  += runtime/watch.c runtime/networkd.c
CLI_SRCS      := wgc.c wgc_kernel.c wgc_confirm.c wgc_watch.c wgc_compiled.c wgc_record.c wgc_ahead.c
SRCS := $(MODEL_SRCS) $(COMPILER_SRCS) $(RUNTIME_SRCS) $(CLI_SRCS)
GEN  := build/gen/parser.c build/gen/scanner.c

all: wgc

build/gen/parser.c build/gen/parser.h &: grammar/parser.y
	@mkdir -p build/gen
	bison -Wall -Werror -o build/gen/parser.c --header=build/gen/parser.h $<

# -Cf: full tables, no compression (12% of a large `check`, the scanner being the hottest
# function); -8: full tables are 7-bit unless told, and a byte above 0x7f would index past them.
build/gen/scanner.c build/gen/scanner.h &: grammar/scanner.l build/gen/parser.h Makefile
	@mkdir -p build/gen
	flex -Cf -8 -o build/gen/scanner.c --header-file=build/gen/scanner.h $<

# Generated code is compiled without the extra warnings it was not written for.
GENFLAGS = -Wno-unused-function -Wno-sign-compare -Wno-shadow -Wno-strict-prototypes
INC = -I. -Ibuild/gen
DEPFLAGS = -MMD -MP
GENHDRS = build/gen/parser.h build/gen/scanner.h

# Only the command line prints the version: only its object depends on it, through a stamp
# rewritten only when the version changes (a new commit rebuilds one object, not the tree).
build/wgc.o build/asan/wgc.o: VERSION_FLAG = -DWGC_VERSION='"$(VERSION)"'
build/wgc.o build/asan/wgc.o: build/version
build/version: FORCE
	@mkdir -p build
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@
FORCE:

# Two builds of the same sources: build/ (./wgc) and build/asan/ (the test build, with sanitizers
# and fault injection, WGC_FAULT_AT). $(1): object folder, $(2): extra flags.
define build_tree
$(1)/%.o: %.c | $(GENHDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $(2) $$(DEPFLAGS) $$(INC) $$(VERSION_FLAG) -c -o $$@ $$<

$(1)/gen/%.o: build/gen/%.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $(2) $$(GENFLAGS) $$(DEPFLAGS) $$(INC) -c -o $$@ $$<

$(1)/libmodel.a: $(MODEL_SRCS:%.c=$(1)/%.o)
	rm -f $$@; $$(AR) rcs $$@ $$^
$(1)/libcompiler.a: $(COMPILER_SRCS:%.c=$(1)/%.o) $(1)/gen/parser.o $(1)/gen/scanner.o
	rm -f $$@; $$(AR) rcs $$@ $$^
$(1)/libruntime.a: $(RUNTIME_SRCS:%.c=$(1)/%.o)
	rm -f $$@; $$(AR) rcs $$@ $$^
endef
$(eval $(call build_tree,build,))
$(eval $(call build_tree,build/asan,$(SAN)))

# Link order: users before what they use.
LIBS = libruntime.a libcompiler.a libmodel.a

wgc: $(CLI_SRCS:%.c=build/%.o) $(addprefix build/,$(LIBS))
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/asan/wgc: $(CLI_SRCS:%.c=build/asan/%.o) $(addprefix build/asan/,$(LIBS))
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

asan: build/asan/wgc

# A unit test links only the layers it tests: LAYERS_<test> names them, users first.
LAYERS_test_key        := model
LAYERS_test_state      := model
LAYERS_test_mtu        := model
LAYERS_test_allocate   := compiler model
LAYERS_test_intent_values := compiler model
LAYERS_test_keywords   := compiler model
LAYERS_test_suggest    := compiler model
LAYERS_test_intern     := compiler model
LAYERS_test_compile    := compiler model
LAYERS_test_lower      := compiler model
LAYERS_test_wg         := runtime model
LAYERS_test_wg_genl    := runtime model
LAYERS_test_dns        := runtime model
LAYERS_test_state_valid := runtime compiler model
LAYERS_test_state_json_write := compiler model
UNIT_TESTS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(wildcard tests/unit/*.c))

.SECONDEXPANSION:
build/asan/tests/%: tests/unit/%.c $$(addprefix build/asan/lib,$$(addsuffix .a,$$(or $$(LAYERS_$$*),$$(error no LAYERS_$$* in the Makefile for tests/unit/$$*.c))))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(INC) -o $@ $^ $(LDLIBS)

# Test-only driver of the WireGuard layer for tests/netns/test_wg.sh (not part of ./wgc).
build/asan/tests/wgctl: tests/tools/wgctl.c build/asan/libruntime.a build/asan/libmodel.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(INC) -o $@ $^ $(LDLIBS)

# Test-only: re-fingerprints a plan file as anyone who can write it could (tests/netns/test_records.sh).
build/asan/tests/planfp: tests/tools/planfp.c build/asan/libmodel.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(INC) -o $@ $^ $(LDLIBS)

-include $(shell find build -path build/pkgs -prune -o -name '*.d' -type f -print 2>/dev/null)

# make bench's tools (bench/*.c, see bench/run.sh): the raw netlink floor, a timer that reports
# peak memory, a per-packet probe. tests/netns/test_bench_floor.sh keeps them working.
BENCH_TOOLS := build/bench/floor build/bench/timeit build/bench/probe
build/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs libmnl)

check: wgc build/asan/wgc $(UNIT_TESTS) $(BENCH_TOOLS)
	WGC=build/asan/wgc UNIT_TESTS="$(UNIT_TESTS)" tests/run.sh

demo: wgc
	tests/demo.sh

bench: wgc $(BENCH_TOOLS)
	bench/run.sh

# A libFuzzer harness over the compiler (needs clang; not part of check): see fuzz/fuzz_policy.c.
FUZZ_CC ?= clang
FUZZ_SRCS := $(MODEL_SRCS) $(COMPILER_SRCS)
build/fuzz/fuzz_policy: fuzz/fuzz_policy.c $(FUZZ_SRCS) $(GEN) $(wildcard */*.h) | $(GENHDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $(INC) \
		$(shell pkg-config --cflags $(PKGS)) -o $@ fuzz/fuzz_policy.c $(FUZZ_SRCS) $(GEN) $(LDLIBS)

build/fuzz/fuzz_state_json: fuzz/fuzz_state_json.c $(FUZZ_SRCS) $(GEN) $(wildcard */*.h) | $(GENHDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $(INC) \
		$(shell pkg-config --cflags $(PKGS)) -o $@ fuzz/fuzz_state_json.c $(FUZZ_SRCS) $(GEN) $(LDLIBS)

fuzz: build/fuzz/fuzz_policy build/fuzz/fuzz_state_json

# Installation. Every directory can be set on the command line (`make install PREFIX=/usr`);
# DESTDIR is prepended to each (packaging). `make uninstall` with the same variables removes
# exactly what `make install` put, and /etc/wgc only if no policy was written there.
PREFIX         ?= /usr/local
DESTDIR        ?=
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
SYSCONFDIR     ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
NETWORKDCONFDIR ?= $(PREFIX)/lib/systemd/networkd.conf.d

# Man pages from scdoc sources: built by `make` when scdoc is installed, and by `make man`.
SCDOC    := $(shell command -v scdoc 2>/dev/null)
MANPAGES := build/man/wgc.8 build/man/wgc.policy.5
all: $(if $(SCDOC),$(MANPAGES))
man: $(MANPAGES)
check: $(MANPAGES)
build/man/%: doc/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@.tmp && mv $@.tmp $@

# systemd units name the binary where SBINDIR puts it.
UNITS := wgc@.service wgc-early@.service wgc-watch@.service
build/systemd/%: dist/systemd/%.in Makefile
	@mkdir -p $(dir $@)
	sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@.tmp && mv $@.tmp $@
units: $(addprefix build/systemd/,$(UNITS))
# A unit built for another SBINDIR is stale: rebuild when it differs.
.PHONY: units-sbindir
build/systemd/.sbindir: units-sbindir
	@mkdir -p $(dir $@)
	@echo '$(SBINDIR)' | cmp -s - $@ || echo '$(SBINDIR)' > $@
$(addprefix build/systemd/,$(UNITS)): build/systemd/.sbindir

# Installs the binary; names protocol 87 "wgc" for ip(8) (`ip route show proto wgc`); the man
# pages, bash completion, systemd units (none enabled), the networkd drop-in that keeps networkd
# off wgc's rules and routes, and /etc/wgc (0700) with a README: no policy is applied by itself.
install: wgc $(MANPAGES) units
	install -D -m 0755 wgc $(DESTDIR)$(SBINDIR)/wgc
	install -D -m 0644 build/man/wgc.8 $(DESTDIR)$(MANDIR)/man8/wgc.8
	install -D -m 0644 build/man/wgc.policy.5 $(DESTDIR)$(MANDIR)/man5/wgc.policy.5
	install -D -m 0644 dist/bash-completion/wgc $(DESTDIR)$(BASHCOMPDIR)/wgc
	for u in $(UNITS); do install -D -m 0644 build/systemd/$$u $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done
	install -D -m 0644 dist/networkd/50-wgc.conf $(DESTDIR)$(NETWORKDCONFDIR)/50-wgc.conf
	install -D -m 0644 dist/wgc.rt_protos.conf $(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d/wgc.conf
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/wgc
	install -m 0644 dist/etc-wgc-README $(DESTDIR)$(SYSCONFDIR)/wgc/README

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/wgc $(DESTDIR)$(MANDIR)/man8/wgc.8 $(DESTDIR)$(MANDIR)/man5/wgc.policy.5 \
	      $(DESTDIR)$(BASHCOMPDIR)/wgc $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(UNITS)) \
	      $(DESTDIR)$(NETWORKDCONFDIR)/50-wgc.conf $(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d/wgc.conf \
	      $(DESTDIR)$(SYSCONFDIR)/wgc/README
	-rmdir $(DESTDIR)$(SYSCONFDIR)/wgc 2>/dev/null

clean:
	rm -rf build wgc

.PHONY: all asan check demo bench fuzz install uninstall clean man units FORCE
