# profefe: PostgreSQL extension (PGXS) plus standalone codec tools.
#
#   make            build the extension
#   make install    install it into the server found by pg_config
#   make test       build, install, run every test suite (scripts/test.sh)
#   make run        the quickstart: local cluster, extension, example profiles
#   make fuzz       libFuzzer over the decoder (clang)
#   make bench      decode benchmark next to the Go reference

EXTENSION   = profefe
MODULE_big  = profefe
OBJS        = src/pg/pg_env.o src/engine/validate.o src/engine/decode.o src/engine/store.o \
              src/engine/frames.o src/engine/top.o src/engine/flame.o \
              src/engine/merge.o src/engine/filter.o \
              src/pg/type_io.o src/pg/accessors.o src/pg/read.o src/pg/aggregates.o src/pg/transforms.o \
              src/pg/store.o
DATA        = $(wildcard sql/profefe--*.sql)
PGFILEDESC  = "profefe - pprof profiles in PostgreSQL"

PROTOBUF_CFLAGS := $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
PROTOBUF_LIBS   := $(shell pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)

PG_CPPFLAGS = -Isrc $(PROTOBUF_CFLAGS)
PG_CFLAGS   = -Wall -Wmissing-prototypes -Wno-unused-parameter
SHLIB_LINK  = -lzstd -lz -lm
EXTRA_CLEAN = src/proto build

PG_CONFIG  ?= pg_config
PGXS       := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# protoc-c generates the protobuf code at build time, never edited by hand.
src/proto/profile.pb-c.c src/proto/profile.pb-c.h: proto/profile.proto
	@mkdir -p src/proto
	protoc-c --c_out=src/proto -Iproto proto/profile.proto

$(OBJS): src/proto/profile.pb-c.h src/engine/profile.h src/engine/report.h src/engine/buf.h src/pg/profefe.h \
         src/engine/merge.h src/engine/filter.h

# ---------------------------------------------------------------------------
# Standalone tools around the plain-C codec (no server needed).
CODEC_SRC = src/engine/validate.c src/engine/decode.c src/engine/store.c src/engine/arena.c \
            src/engine/frames.c src/engine/top.c src/engine/flame.c src/engine/merge.c src/engine/filter.c \
            src/proto/profile.pb-c.c
TOOL_CFLAGS = -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
              -Wno-missing-field-initializers -Isrc $(PROTOBUF_CFLAGS)
TOOL_LIBS = $(PROTOBUF_LIBS) -lzstd -lz -lm

build/codec_test: test/engine_test.c $(CODEC_SRC) src/engine/profile.h src/engine/arena.h
	@mkdir -p build
	$(CC) $(TOOL_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer -o $@ test/engine_test.c $(CODEC_SRC) $(TOOL_LIBS)

build/codec_bench: bench/codec_bench.c $(CODEC_SRC) src/engine/profile.h src/engine/arena.h
	@mkdir -p build
	$(CC) $(TOOL_CFLAGS) -O3 -DNDEBUG -o $@ bench/codec_bench.c $(CODEC_SRC) $(TOOL_LIBS)

build/fuzz_decode: fuzz/fuzz_decode.c $(CODEC_SRC) src/engine/profile.h src/engine/arena.h
	@mkdir -p build
	clang $(TOOL_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
	    fuzz/fuzz_decode.c $(CODEC_SRC) $(TOOL_LIBS)

# the collector's request parsing
build/fuzz_params: fuzz/fuzz_params.c src/collector/params.c src/collector/util.c src/collector/collector.h
	@mkdir -p build
	clang -O1 -g -Isrc -D_GNU_SOURCE $(shell pkg-config --cflags libpq 2>/dev/null) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
	    fuzz/fuzz_params.c src/collector/params.c src/collector/util.c

FUZZ_SECONDS ?= 60
fuzz: build/fuzz_decode
	@mkdir -p build/fuzz-corpus
	build/fuzz_decode -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    build/fuzz-corpus fuzz/seeds

codec-test: build/codec_test
	build/codec_test

bench: all build/codec_bench
	bench/decode.sh
	bench/read.sh
	bench/merge.sh
	bench/store.sh
	bench/collector.sh
	bench/scrape.sh

test:
	scripts/test.sh

run:
	scripts/run.sh

.PHONY: fuzz codec-test bench test run

# Test tools: case generators and the codec-only checker.
build/pprofcheck: test/pprofcheck.c $(CODEC_SRC) src/engine/profile.h src/engine/arena.h
	@mkdir -p build
	$(CC) $(TOOL_CFLAGS) -o $@ test/pprofcheck.c $(CODEC_SRC) $(TOOL_LIBS)

build/gen_cases: test/gen_cases.c src/proto/profile.pb-c.c
	@mkdir -p build
	$(CC) $(TOOL_CFLAGS) -o $@ test/gen_cases.c src/proto/profile.pb-c.c $(TOOL_LIBS)

build/gen_mutants: test/gen_mutants.c
	@mkdir -p build
	$(CC) $(TOOL_CFLAGS) -o $@ test/gen_mutants.c

test-tools: build/pprofcheck build/gen_cases build/gen_mutants

.PHONY: test-tools

stop:
	scripts/run.sh stop

.PHONY: stop

build/read_bench: bench/read_bench.c $(CODEC_SRC) src/engine/profile.h src/engine/report.h
	@mkdir -p build
	$(CC) $(TOOL_CFLAGS) -O2 -o $@ bench/read_bench.c $(CODEC_SRC) $(TOOL_LIBS)

# ---------------------------------------------------------------------------
# profefe-collector: the HTTP API, a libpq client (libmicrohttpd).
COLLECTOR_SRC = src/collector/main.c src/collector/server.c src/collector/routes.c \
                src/collector/params.c src/collector/db.c src/collector/saver.c \
                src/collector/metrics.c src/collector/util.c src/collector/scraper.c
COLLECTOR_CFLAGS = -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
                   -D_GNU_SOURCE -pthread \
                   $(shell pkg-config --cflags libmicrohttpd libpq libcurl 2>/dev/null || echo -I$(shell $(PG_CONFIG) --includedir)) \
                   -DGIT_COMMIT='"$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)"' \
                   -DBUILD_TIME='"$(shell date -u +%Y-%m-%dT%H:%M:%SZ)"'
COLLECTOR_LIBS = $(shell pkg-config --libs libmicrohttpd libpq libcurl 2>/dev/null || echo -lmicrohttpd -lpq -lcurl) -pthread

all: build/profefe-collector

build/profefe-collector: $(COLLECTOR_SRC) src/collector/collector.h
	@mkdir -p build
	$(CC) $(COLLECTOR_CFLAGS) $(COLLECTOR_SANITIZE) -o $@ $(COLLECTOR_SRC) $(COLLECTOR_LIBS)

# the same under ASan/UBSan, for the end-to-end tests
build/profefe-collector-asan: $(COLLECTOR_SRC) src/collector/collector.h
	@mkdir -p build
	$(CC) $(COLLECTOR_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -o $@ $(COLLECTOR_SRC) $(COLLECTOR_LIBS)

collector: build/profefe-collector

# the collector binary, apart from the extension's `make install`
COLLECTOR_PREFIX ?= /usr/local
install-collector: build/profefe-collector
	install -d $(DESTDIR)$(COLLECTOR_PREFIX)/bin
	install -m 755 build/profefe-collector $(DESTDIR)$(COLLECTOR_PREFIX)/bin/profefe-collector

.PHONY: collector install-collector
