# h2gate: plain, strict Makefile. Objects live under build/ (release),
# build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer) and build-tsan/
# (ThreadSanitizer, h2gate only).
#   make          build build/h2gate and build/origin
#   make deps     install missing Debian packages (quick no-op when present)
#   make run      demo: origin + h2gate with a self-signed certificate
#   make test     unit + integration tests, then both again under ASan+UBSan,
#                 then the ThreadSanitizer run (tests/integration/test_tsan.py)
#   make asan     build build-asan/
#   make tsan     build build-tsan/h2gate
#   make bench    run bench/run
#   make bench-compare  run bench/compare (h2gate beside nghttpx, h2o, haproxy)

CC       ?= cc
BORINGSSL_INC := /usr/include/android
BORINGSSL_LIB := /usr/lib/x86_64-linux-gnu/android

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wno-format-nonliteral
CPPFLAGS += -I. -I$(BORINGSSL_INC) -D_GNU_SOURCE -MMD -MP
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN) -pthread
LIBS_COMMON := -L$(BORINGSSL_LIB) -Wl,-rpath,$(BORINGSSL_LIB) -lssl -lcrypto \
               -lnghttp2 -lev -lcares -lhttp_parser -lcrypt -pthread -lm

# V=1 shows the full commands.
Q := $(if $(V),,@)

BUILD ?= build
ifeq ($(BUILD),build-asan)
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=undefined -std=c11 $(WARN) -pthread
LDFLAGS  += -fsanitize=address,undefined
LIBS     := $(LIBS_COMMON)
else ifeq ($(BUILD),build-tsan)
# The cross-thread code (stats cells, worker commands, shutdown, the admin
# listener, log reopen) under ThreadSanitizer. No jemalloc: TSan brings its
# own allocator.
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=thread -std=c11 $(WARN) -pthread
LDFLAGS  += -fsanitize=thread
LIBS     := $(LIBS_COMMON)
else
LIBS     := $(LIBS_COMMON) -ljemalloc
endif

LIB_SRC   := $(wildcard common/*.c) $(wildcard config/*.c) \
             $(filter-out proxy/main.c,$(wildcard proxy/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/proxy/main.o
ORIGIN_OBJ := $(BUILD)/obj/bench/origin.o
UNIT_SRC  := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)

.PHONY: all deps run test unit integration asan tsan bench bench-compare clean fuzz

all: deps
	@$(MAKE) --no-print-directory binaries

binaries: $(BUILD)/h2gate $(BUILD)/origin $(UNIT_BIN)

$(BUILD)/h2gate: $(MAIN_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/origin: $(ORIGIN_OBJ) $(filter $(BUILD)/obj/common/%,$(LIB_OBJ))
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The tunnel benchmark's client and target (bench/run builds it on demand).
$(BUILD)/tunnel_client: $(BUILD)/obj/bench/tunnel_client.o $(BUILD)/obj/bench/benchutil.o
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The WebSocket benchmark's echo backend and client (bench/run -S websocket).
$(BUILD)/ws_bench: $(BUILD)/obj/bench/ws_bench.o $(BUILD)/obj/bench/benchutil.o
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $(BUILD)/$<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The admin's dashboard page is built into h2gate by the assembler's
# .incbin (proxy/dashboard.c): the compiler's -MMD never sees that file,
# so the object depends on it here, and gets its absolute path.
DASH_HTML := proxy/dashboard.html
DASH_CPPFLAGS := -DDASH_HTML_PATH='"$(abspath $(DASH_HTML))"'
$(BUILD)/obj/proxy/dashboard.o: $(DASH_HTML)
$(BUILD)/obj/proxy/dashboard.o: CPPFLAGS += $(DASH_CPPFLAGS)
# its unit test compares the page built in with the file
$(BUILD)/obj/tests/unit/proxy/dashboard.o: CPPFLAGS += $(DASH_CPPFLAGS)
# tlsbio's unit test counts proxy/tlsbio.c's send(2) calls and makes them
# fall short
$(BUILD)/tests/unit/proxy/tlsbio: LDFLAGS += -Wl,--wrap=send
# listen's sees which sockets listen(2) is called on
$(BUILD)/tests/unit/proxy/listen: LDFLAGS += -Wl,--wrap=listen

deps:
	@sh deploy/install-deps.sh

run: all
	@sh deploy/demo.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan binaries

tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan build-tsan/h2gate

# make test builds on every core, unless make was given its own -j.
PARALLEL = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))

test: deps
	@$(MAKE) --no-print-directory $(PARALLEL) binaries
	@$(MAKE) --no-print-directory $(PARALLEL) BUILD=build-asan binaries
	@$(MAKE) --no-print-directory $(PARALLEL) BUILD=build-tsan build-tsan/h2gate
	@sh tests/run-all.sh

unit: all
	@sh tests/run-all.sh --unit-only

bench: all
	@bench/run

bench-compare: all
	@bench/compare

clean:
	rm -rf build build-asan build-tsan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- libFuzzer targets (STYLE.md 16): clang only, never part of `make`,
# `make test` or `make clean`.
#   make fuzz [FUZZ_SECONDS=30] [FUZZ_TARGETS="hdrs h1_head"]
#   make fuzz-build       build only
# Each build-fuzz/<t> is fuzz/<t>.c linked with just the sources it
# exercises, compiled by clang into build-fuzz/obj/ (never the gcc objects).
# Seeds are read from fuzz/corpus/<t>/; new inputs go to build-fuzz/corpus/<t>/,
# crash reproducers to build-fuzz/crashes/<t>/, the full output to
# build-fuzz/<t>.log. Rerun one: build-fuzz/<t> build-fuzz/crashes/<t>/crash-...
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 30
FUZZ_DIR      := build-fuzz
FUZZ_ALL      := h1_head connect_rule config_values accesslog_format hdrs h2srv h1srv \
                 bconn extpri linkhdr
FUZZ_TARGETS  ?= $(FUZZ_ALL)
# An idle HTTP/2 session sleeps at the loop's next timer pass, not a
# second later (proxy/h2mem.h): the rig's inputs pack and unpack it.
FUZZ_CPPFLAGS := -I. -I$(BORINGSSL_INC) -D_GNU_SOURCE -MMD -MP -DH2MEM_TEST_DELAY=1e-6
FUZZ_CFLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                 -fno-sanitize-recover=undefined -std=c11 $(WARN)
# xlate.c computes Sec-WebSocket-Accept with BoringSSL's SHA-1 and base64.
FUZZ_CRYPTO               := -L$(BORINGSSL_LIB) -Wl,-rpath,$(BORINGSSL_LIB) -lcrypto
FUZZ_SRC_h1_head          := proxy/xlate.c proxy/xlate_h2.c proxy/hdrs.c proxy/h1resp.c common/buf.c \
                             common/str.c common/xalloc.c
FUZZ_LIBS_h1_head         := -lhttp_parser $(FUZZ_CRYPTO)
FUZZ_SRC_connect_rule     := config/connect_rule.c common/xalloc.c
FUZZ_SRC_config_values    := config/value.c config/spec.c config/route.c common/xalloc.c
FUZZ_SRC_accesslog_format := proxy/accesslog.c proxy/alog_json.c proxy/hdrs.c common/buf.c \
                             common/str.c common/xalloc.c
FUZZ_SRC_hdrs             := proxy/hdrs.c proxy/xlate.c proxy/xlate_h2.c common/buf.c \
                             common/str.c common/xalloc.c
FUZZ_LIBS_hdrs            := $(FUZZ_CRYPTO)
FUZZ_SRC_extpri           := proxy/extpri.c
FUZZ_SRC_linkhdr          := proxy/linkhdr.c common/str.c
# The whole proxy but main.c: a real worker loop, the HTTP/2 (h2srv) or
# HTTP/1.1 (h1srv) server glue and the upstream side, with the backend
# the rig (fuzz/proxy_rig.c) serves itself (bconn: the backend's answer
# is the input).
FUZZ_SRC_h2srv            := $(LIB_SRC) fuzz/proxy_rig.c
FUZZ_LIBS_h2srv           := $(LIBS_COMMON)
FUZZ_SRC_h1srv            := $(LIB_SRC) fuzz/proxy_rig.c
FUZZ_LIBS_h1srv           := $(LIBS_COMMON)
FUZZ_SRC_bconn            := $(LIB_SRC) fuzz/proxy_rig.c
FUZZ_LIBS_bconn           := $(LIBS_COMMON)

.PHONY: fuzz-build fuzz-run

fuzz:
	@sh deploy/install-fuzz-deps.sh
	@$(MAKE) --no-print-directory fuzz-build
	@$(MAKE) --no-print-directory fuzz-run

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

# fuzz/h2srv.c, fuzz/h1srv.c and fuzz/bconn.c link every proxy source, the dashboard's page included.
$(FUZZ_DIR)/obj/proxy/dashboard.o: $(DASH_HTML)
$(FUZZ_DIR)/obj/proxy/dashboard.o: FUZZ_CPPFLAGS += $(DASH_CPPFLAGS)

.SECONDEXPANSION:
$(FUZZ_ALL:%=$(FUZZ_DIR)/%): $(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/fuzz/%.o \
                                   $$(addprefix $(FUZZ_DIR)/obj/,$$(FUZZ_SRC_$$*:.c=.o))
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(FUZZ_LIBS_$*)

# Runs every target for FUZZ_SECONDS, showing libFuzzer's progress lines,
# then one summary line per target; fails when any target found a crash.
fuzz-run:
	@fail=""; \
	for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes/$$t; \
	    echo "  FUZZ    $$t for $(FUZZ_SECONDS)s (full log: $(FUZZ_DIR)/$$t.log)"; \
	    { UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	      $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=8192 \
	          -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crashes/$$t/ \
	          $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t 2>&1; echo $$? >$(FUZZ_DIR)/$$t.rc; } | \
	        tee $(FUZZ_DIR)/$$t.log | \
	        grep --line-buffered -E 'INITED|pulse|DONE|ERROR|SUMMARY|CHECK failed|Test unit written' | \
	        sed -u 's/^/          /'; \
	    [ "$$(cat $(FUZZ_DIR)/$$t.rc)" = 0 ] || fail="$$fail $$t"; \
	done; \
	echo "  fuzz summary ($(FUZZ_SECONDS)s each):"; \
	for t in $(FUZZ_TARGETS); do \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/$$t.log | tail -n 1); \
	    cov=$$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' $(FUZZ_DIR)/$$t.log | tail -n 1); \
	    crashes=$$(ls $(FUZZ_DIR)/crashes/$$t | wc -l); \
	    printf '    %-18s execs %-10s %s, crash files %s\n' $$t "$${runs:-?}" "$$cov" $$crashes; \
	done; \
	if [ -n "$$fail" ]; then \
	    echo "  fuzz: FAILED:$$fail (reproducers in $(FUZZ_DIR)/crashes/)"; exit 1; \
	fi

ifneq ($(filter fuzz%,$(MAKECMDGOALS)),)
-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
endif
