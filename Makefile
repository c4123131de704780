# h2gate: plain, strict Makefile. Objects live under build/ (release) and
# build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer).
#   make          build build/h2gate and build/origin
#   make deps     install missing Debian packages (quick no-op when present)
#   make run      demo: origin + h2gate with a self-signed certificate
#   make test     unit + integration tests, then both again under ASan+UBSan
#   make asan     build build-asan/
#   make bench    run bench/run

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

.PHONY: all deps run test unit integration asan bench clean fuzz

all: deps
	@$(MAKE) --no-print-directory binaries

binaries: $(BUILD)/h2gate $(BUILD)/origin $(UNIT_BIN)

$(BUILD)/h2gate: $(MAIN_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/origin: $(ORIGIN_OBJ) $(filter $(BUILD)/obj/common/%,$(LIB_OBJ))
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

deps:
	@sh deploy/install-deps.sh

run: all
	@sh deploy/demo.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan binaries

test: deps
	@$(MAKE) --no-print-directory binaries
	@$(MAKE) --no-print-directory BUILD=build-asan binaries
	@sh tests/run-all.sh

unit: all
	@sh tests/run-all.sh --unit-only

bench: all
	@bench/run

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
