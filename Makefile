# profefe: the PostgreSQL extension (PGXS) and the engine library it links;
# the collector has its own Makefile (src/collector/), built by name here.
#
#   make                the extension (needs only postgresql-server-dev, zlib, zstd)
#   make install        install it into the server pg_config names
#   make installcheck   pg_regress over sql_tests/ against a running server
#                       with the extension installed (PGHOST, PGPORT, ...)
#   make collector      build/profefe-collector (libmicrohttpd, libpq, libcurl)
#   make install-collector
#   make test           everything: scripts/test.sh
#   make run / stop     the quickstart
#   make bench          the benchmarks
#   make fuzz           libFuzzer over the decoder (clang)
#
# Rooms (docs/layout.md): src/engine/ is plain C that never includes a
# server header (a check in `make test` makes sure); src/pg/ is the fmgr
# glue; src/collector/ is the daemon.

EXTENSION   = profefe
EXTVERSION  = 0.10.0
MODULE_big  = profefe
OBJS        = src/pg/module.o src/pg/pg_env.o src/pg/type_io.o src/pg/accessors.o \
              src/pg/read.o src/pg/flamerows.o src/pg/aggregates.o src/pg/transforms.o src/pg/pgregex.o src/pg/store.o \
              src/pg/save.o src/pg/rollup_track.o src/pg/tenant.o src/pg/folded.o src/pg/pack.o
# sql/profefe.sql is what the extension is now; installed as the script of
# the current version, beside the upgrade scripts (and the first release's
# base script, which the upgrade test starts from).
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA        = $(filter-out $(DATA_built), $(wildcard sql/$(EXTENSION)--*.sql))
PGFILEDESC  = "profefe - pprof profiles in PostgreSQL"

REGRESS      = setup pprof_type accessors read merge store scrape types rollups tenants ingest batch packs
REGRESS_OPTS = --inputdir=build/regress
REGRESS_PREP = regress-prep

PG_CPPFLAGS = -Isrc
PG_CFLAGS   = -Wall -Wmissing-prototypes -Wno-unused-parameter
SHLIB_LINK  = build/libpprof.a -ldeflate -lzstd -lz -lm
EXTRA_CLEAN = build src/proto results regression.diffs regression.out

PG_CONFIG  ?= pg_config
PGXS       := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# ---------------------------------------------------------------------------
# The engine: a static library of plain C, compiled without the server's
# include paths (a server header included by mistake does not compile),
# position-independent so it links into the extension.
ENGINE_SRC  = $(addprefix src/engine/, env.c arena.c gzip.c decode.c validate.c profile.c store.c pack.c pack_sub.c pack_ctx.c \
              merge.c compact.c encode.c folded.c filter.c tagfilter.c prune.c units.c labels.c \
              frames.c top.c flame.c flamerows.c svg.c)
ENGINE_HDR  = $(wildcard src/engine/*.h)
ENGINE_CFLAGS = -std=gnu11 -O2 -g -fPIC -Wall -Wextra -Wmissing-prototypes -Wno-unused-parameter \
                -Wno-sign-compare -Wno-missing-field-initializers $(ENGINE_EXTRA_CFLAGS)
ENGINE_OBJ  = $(patsubst src/engine/%.c, build/engine/%.o, $(ENGINE_SRC))
ENGINE_LIBS = -ldeflate -lzstd -lz -lm

build/engine/%.o: src/engine/%.c $(ENGINE_HDR)
	@mkdir -p build/engine
	$(CC) $(ENGINE_CFLAGS) -c -o $@ $<

build/libpprof.a: $(ENGINE_OBJ)
	rm -f $@
	$(AR) crs $@ $^

$(OBJS): $(wildcard src/pg/*.h) $(ENGINE_HDR)
$(shlib): build/libpprof.a

# The engine under ASan/UBSan, for its unit tests and the fuzzers.
build/asan/%.o: src/engine/%.c $(ENGINE_HDR)
	@mkdir -p build/asan
	$(CC) $(ENGINE_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer -c -o $@ $<

build/libpprof-asan.a: $(patsubst src/engine/%.c, build/asan/%.o, $(ENGINE_SRC))
	rm -f $@
	$(AR) crs $@ $^

# ---------------------------------------------------------------------------
# Tests, tools, benchmarks and fuzzers around the engine (no server needed).
# protobuf-c is only the test oracle here: an independent decoder the engine's
# own is compared with, and the generator of hand-built cases.
PROTOBUF_CFLAGS := $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
PROTOBUF_LIBS   := $(shell pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)
TOOL_CFLAGS = -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
              -Wno-missing-field-initializers -Isrc -Ibuild $(PROTOBUF_CFLAGS)
SANITIZE    = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# protoc-c generates the oracle's code at build time, never edited by hand.
build/proto/profile.pb-c.c build/proto/profile.pb-c.h: proto/profile.proto
	@mkdir -p build/proto
	protoc-c --c_out=build/proto -Iproto proto/profile.proto

build/engine_test: test/engine_test.c build/libpprof-asan.a build/proto/profile.pb-c.c
	$(CC) $(TOOL_CFLAGS) $(SANITIZE) -o $@ test/engine_test.c build/proto/profile.pb-c.c \
	    build/libpprof-asan.a $(PROTOBUF_LIBS) $(ENGINE_LIBS)

build/pprofcheck: test/pprofcheck.c build/libpprof.a
	$(CC) $(TOOL_CFLAGS) -o $@ $< build/libpprof.a $(ENGINE_LIBS)

build/gen_cases: test/gen_cases.c build/proto/profile.pb-c.c
	$(CC) $(TOOL_CFLAGS) -o $@ test/gen_cases.c build/proto/profile.pb-c.c $(PROTOBUF_LIBS) -lz

build/gen_mutants: test/gen_mutants.c
	@mkdir -p build
	$(CC) $(TOOL_CFLAGS) -o $@ $<

build/codec_bench: bench/codec_bench.c bench/benchio.h $(ENGINE_SRC) $(ENGINE_HDR)
	$(CC) $(TOOL_CFLAGS) -O3 -DNDEBUG -o $@ bench/codec_bench.c $(ENGINE_SRC) $(ENGINE_LIBS)

build/pack_bench: bench/pack_bench.c bench/benchio.h $(ENGINE_SRC) $(ENGINE_HDR)
	$(CC) $(TOOL_CFLAGS) -O3 -DNDEBUG -o $@ bench/pack_bench.c $(ENGINE_SRC) $(ENGINE_LIBS)

build/read_bench: bench/read_bench.c build/libpprof.a
	$(CC) $(TOOL_CFLAGS) -o $@ $< build/libpprof.a $(ENGINE_LIBS)

build/fuzz_decode: fuzz/fuzz_decode.c $(ENGINE_SRC) $(ENGINE_HDR)
	@mkdir -p build
	clang $(TOOL_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
	    fuzz/fuzz_decode.c $(ENGINE_SRC) $(ENGINE_LIBS)

test-tools: build/engine_test build/pprofcheck build/gen_cases build/gen_mutants

# pg_regress reads inputdir/sql and inputdir/expected; the fixtures go to the
# server through the client (psql's \lo_import), so any server will do.
regress-prep: build/regress/fixtures.tsv

build/regress/fixtures.tsv: $(wildcard test/fixtures/*.pb.gz test/fixtures/generated/*)
	@mkdir -p build/regress
	ln -sfn ../../sql_tests build/regress/sql
	ln -sfn ../../expected build/regress/expected
	for f in $^; do printf '%s\t%s\n' "$$(basename $$f)" "$$(base64 -w0 $$f)"; done > $@.tmp
	mv $@.tmp $@

FUZZ_SECONDS ?= 60
fuzz: build/fuzz_decode
	@mkdir -p build/fuzz-corpus
	build/fuzz_decode -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build/fuzz-corpus fuzz/seeds

engine-test: build/engine_test
	build/engine_test

test:
	scripts/test.sh

run:
	scripts/run.sh

stop:
	scripts/run.sh stop

bench: all collector build/codec_bench
	bench/decode.sh
	bench/read.sh
	bench/merge.sh
	bench/store.sh
	bench/collector.sh
	bench/auth.sh
	bench/scrape.sh
	bench/rollups.sh
	bench/ui.sh

bench-ui: all collector
	bench/ui.sh

bench-rollups: all collector
	bench/rollups.sh

bench-auth: all collector
	bench/auth.sh

# long runs, not in `make bench`: faults for 5 minutes, the 30-minute soak
bench-faults: all collector
	bench/faults.sh

bench-soak: all collector
	bench/soak.sh

# issue 17's baseline: ingest and stored bytes beside the original profefe
# (PROFEFE_BIN=/path/to/profefe, built by you from its public source)
bench-fleet: all collector build/zdict_bench
	bench/fleet.sh

# a fleet's mix at 1,200 POSTs/s for 10 minutes, durable (bench/fleet-sim.sh)
bench-fleet-sim: all collector
	bench/fleet-sim.sh

bench-packs: all
	bench/packs.sh

bench-packwal: all
	bench/packwal.sh

# what zstd dictionaries trained per service and type would save (bench/zdict_bench.c)
build/zdict_bench: bench/zdict_bench.c
	@mkdir -p build
	$(CC) -O2 -g -Wall -Wextra -o $@ bench/zdict_bench.c -lzstd -lz

# ---------------------------------------------------------------------------
# profefe-collector (src/collector/Makefile).
COLLECTOR_PREFIX ?= /usr/local

collector:
	$(MAKE) -C src/collector

collector-asan:
	$(MAKE) -C src/collector asan

install-collector:
	$(MAKE) -C src/collector install COLLECTOR_PREFIX=$(COLLECTOR_PREFIX) DESTDIR=$(DESTDIR)

.PHONY: fuzz engine-test test run stop bench bench-rollups bench-ui bench-auth bench-faults bench-soak bench-fleet bench-fleet-sim bench-packs bench-packwal test-tools regress-prep collector collector-asan install-collector
