# wgc - declarative WireGuard policy routing compiler.
#
#   make            build ./wgc
#   make check      unit, golden, error-corpus and network-namespace tests (ASan/UBSan build)
#   make asan       build ./build/asan/wgc with AddressSanitizer and UBSan
#   make demo       build, then `wgc plan`/`compile` an example inside a throwaway namespace
#   make bench      benchmarks (ratios against ip -batch / nft -f), separate from tests

CC      ?= cc
PKGS    := libmnl libnftables jansson
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS))
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

# The sanitizer build is the test build: it also compiles in fault injection (WGC_FAULT_AT).
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -DWGC_TEST_FAULTS

SRCS := compiler/ast.c compiler/diag.c compiler/xalloc.c compiler/compile.c compiler/check.c compiler/check_names.c compiler/check_values.c \
        compiler/check_tunnel.c compiler/check_stmts.c compiler/check_policy.c compiler/allocate.c compiler/lower.c compiler/lower_nft.c \
        compiler/emit_ip.c compiler/emit_nft.c compiler/emit_json.c compiler/base64.c compiler/fmt.c \
        runtime/state.c runtime/wg.c runtime/wg_common.c runtime/wg_uapi.c runtime/wg_genl.c runtime/curve25519.c \
        grammar/parse.c wgc.c
RUNTIME_SRCS := runtime/state_json.c runtime/nl.c runtime/rtnl_read.c runtime/rtnl_write.c runtime/diff.c \
        runtime/plan_print.c runtime/nft.c runtime/sysctl.c runtime/observe.c runtime/apply.c runtime/records.c \
        wgc_kernel.c
RUNTIME_SRCS += runtime/state_valid.c runtime/nft_body.c runtime/plan_file.c
SRCS += $(RUNTIME_SRCS)
GEN  := build/gen/parser.c build/gen/scanner.c

all: wgc

build/gen/parser.c build/gen/parser.h &: grammar/parser.y
	@mkdir -p build/gen
	bison -Wall -Werror -o build/gen/parser.c --header=build/gen/parser.h $<

build/gen/scanner.c build/gen/scanner.h &: grammar/scanner.l build/gen/parser.h
	@mkdir -p build/gen
	flex -o build/gen/scanner.c --header-file=build/gen/scanner.h $<

# Generated code is compiled without the extra warnings it was not written for.
GENFLAGS = -Wno-unused-function -Wno-sign-compare -Wno-shadow -Wno-strict-prototypes
INC = -Ibuild/gen -Igrammar -Icompiler -Iruntime

build/%.o: %.c build/gen/parser.h build/gen/scanner.h $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC) $(VERSION_FLAG) -c -o $@ $<

build/gen/%.o: build/gen/%.c
	$(CC) $(CFLAGS) $(GENFLAGS) $(INC) -c -o $@ $<

# Only the command line prints the version: only its object depends on it.
build/wgc.o build/asan/wgc.o: VERSION_FLAG = -DWGC_VERSION='"$(VERSION)"'

OBJS := $(SRCS:%.c=build/%.o) build/gen/parser.o build/gen/scanner.o

wgc: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The sanitizer build: same sources, separate objects.
ASAN_OBJS := $(SRCS:%.c=build/asan/%.o) build/asan/gen/parser.o build/asan/gen/scanner.o

build/asan/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(GENFLAGS) $(INC) -c -o $@ $<

build/asan/%.o: %.c build/gen/parser.h build/gen/scanner.h $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(INC) $(VERSION_FLAG) -c -o $@ $<

build/asan/wgc: $(ASAN_OBJS)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

asan: build/asan/wgc

# Unit tests link the library objects (everything but wgc.c) with the test's main().
LIB_ASAN_OBJS := $(filter-out build/asan/wgc.o,$(ASAN_OBJS))
UNIT_TESTS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(wildcard tests/unit/*.c))

build/asan/tests/%: tests/unit/%.c $(LIB_ASAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(INC) -o $@ $^ $(LDLIBS)

# Test-only driver of the WireGuard layer for tests/netns/test_wg.sh (not part of ./wgc).
build/asan/tests/wgctl: tests/tools/wgctl.c $(LIB_ASAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(INC) -o $@ $^ $(LDLIBS)

# Test-only: re-fingerprints a plan file as anyone who can write it could (tests/netns/test_records.sh).
build/asan/tests/planfp: tests/tools/planfp.c $(LIB_ASAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(INC) -o $@ $^ $(LDLIBS)

check: wgc build/asan/wgc $(UNIT_TESTS)
	WGC=build/asan/wgc UNIT_TESTS="$(UNIT_TESTS)" tests/run.sh

demo: wgc
	tests/demo.sh

bench: wgc
	tests/bench.sh

# A libFuzzer harness over the compiler (needs clang; not part of check): see fuzz/fuzz_policy.c.
FUZZ_CC ?= clang
FUZZ_SRCS := $(filter compiler/% grammar/% runtime/state.c runtime/state_json.c runtime/nft.c,$(SRCS))
build/fuzz/fuzz_policy: fuzz/fuzz_policy.c $(FUZZ_SRCS) $(GEN) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $(INC) \
		$(shell pkg-config --cflags $(PKGS)) -o $@ fuzz/fuzz_policy.c $(FUZZ_SRCS) $(GEN) $(LDLIBS)

build/fuzz/fuzz_state_json: fuzz/fuzz_state_json.c $(FUZZ_SRCS) $(GEN) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $(INC) \
		$(shell pkg-config --cflags $(PKGS)) -o $@ fuzz/fuzz_state_json.c $(FUZZ_SRCS) $(GEN) $(LDLIBS)

fuzz: build/fuzz/fuzz_policy build/fuzz/fuzz_state_json

PREFIX  ?= /usr/local
DESTDIR ?=

# Installs the binary and names protocol 87 "wgc" for ip(8) (`ip route show proto wgc`).
install: wgc
	install -D -m 0755 wgc $(DESTDIR)$(PREFIX)/sbin/wgc
	install -D -m 0644 dist/wgc.rt_protos.conf $(DESTDIR)/etc/iproute2/rt_protos.d/wgc.conf

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/wgc $(DESTDIR)/etc/iproute2/rt_protos.d/wgc.conf

clean:
	rm -rf build wgc

.PHONY: all asan check demo bench fuzz install uninstall clean
