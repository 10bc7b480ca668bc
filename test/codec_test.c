/*
 * codec_test.c
 *	  Unit tests of the plain-C codec, built with AddressSanitizer and
 *	  UndefinedBehaviorSanitizer. Also decodes every file given on the
 *	  command line (the generated cases and the fixtures) under the
 *	  sanitizers, checking that valid-* files decode and bad-* files don't.
 *
 * Usage: codec_test [FILE...]
 *
 * test/codec_test.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "pprof_arena.h"

static int	passed,
			failed;

#define CHECK(cond, ...) \
	do { \
		if (cond) passed++; \
		else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
	} while (0)

static PprofArena *arena;

static void
env_for(PprofEnv *env, size_t max)
{
	pprof_arena_env(arena, env, max);
}

static int	ticks;

static void
count_tick(void *arg)
{
	ticks++;
}

/* zlib's own one-shot gzip, independent of the code under test. */
static uint8_t *
ref_gzip(const uint8_t *in, size_t len, size_t *outlen)
{
	z_stream	zs;
	size_t		cap;
	uint8_t    *out;

	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	cap = deflateBound(&zs, len) + 64;
	out = malloc(cap);
	zs.next_in = (Bytef *) in;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = cap;
	deflate(&zs, Z_FINISH);
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static void
test_gunzip_limits(void)
{
	size_t		n = 3 * 1024 * 1024 + 17;
	uint8_t    *data = malloc(n);
	size_t		gzlen,
				outlen;
	uint8_t    *gz,
			   *out;
	PprofEnv	env;
	PprofError	err;

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t) (i * 7 + (i >> 9));
	gz = ref_gzip(data, n, &gzlen);

	/* exactly at the limit: accepted, and bytes identical */
	env_for(&env, n);
	ticks = 0;
	env.tick = count_tick;
	CHECK(pprof_gunzip(&env, gz, gzlen, &out, &outlen, &err) == PPROF_OK, "gunzip at limit: %s", err.detail);
	CHECK(outlen == n && memcmp(out, data, n) == 0, "gunzip output differs");
	CHECK(ticks >= 3, "tick hook called %d times for 3MB", ticks);
	pprof_arena_reset(arena);

	/* one byte over: refused as too large */
	env_for(&env, n - 1);
	CHECK(pprof_gunzip(&env, gz, gzlen, &out, &outlen, &err) == PPROF_TOO_LARGE, "gunzip over limit not refused");
	pprof_arena_reset(arena);

	/* a lying ISIZE trailer only changes the first allocation */
	gz[gzlen - 1] = 0xff;
	env_for(&env, n);
	CHECK(pprof_gunzip(&env, gz, gzlen, &out, &outlen, &err) == PPROF_MALFORMED, "bad ISIZE accepted");
	pprof_arena_reset(arena);

	/* every truncation point of a small stream is an error, never a crash */
	{
		size_t		sl;
		uint8_t    *small = ref_gzip(data, 5000, &sl);
		int			bad = 0;

		for (size_t cut = 0; cut < sl; cut++)
		{
			env_for(&env, 1 << 20);
			if (pprof_gunzip(&env, small, cut, &out, &outlen, &err) != PPROF_MALFORMED)
				bad++;
			pprof_arena_reset(arena);
		}
		CHECK(bad == 0, "%d truncations of a gzip stream were accepted", bad);
		free(small);
	}
	free(gz);
	free(data);
}

static void
test_gzip_roundtrip(void)
{
	size_t		n = 2 * 1024 * 1024 + 3;
	uint8_t    *data = malloc(n);
	uint8_t    *gz,
			   *back;
	size_t		gzlen,
				backlen;
	PprofEnv	env;
	PprofError	err;
	unsigned	x = 1;

	for (size_t i = 0; i < n; i++)
	{
		x = x * 1664525u + 1013904223u;
		data[i] = (i % 3 == 0) ? (uint8_t) (x >> 24) : (uint8_t) i;
	}
	env_for(&env, n);
	CHECK(pprof_gzip(&env, data, n, 6, &gz, &gzlen, &err) == PPROF_OK, "gzip failed");
	CHECK(pprof_is_gzip(gz, gzlen), "gzip output lacks the magic");
	CHECK(pprof_gunzip(&env, gz, gzlen, &back, &backlen, &err) == PPROF_OK, "gunzip of own gzip: %s", err.detail);
	CHECK(backlen == n && memcmp(back, data, n) == 0, "gzip round trip differs");
	CHECK(pprof_gzip(&env, data, 0, 6, &gz, &gzlen, &err) == PPROF_OK && gzlen > 0, "gzip of empty input");
	pprof_arena_reset(arena);
	free(data);
}

static void
test_idmap_and_index(void)
{
	/* valid-base-like profile built in memory */
	PbProfile	pb = PERFTOOLS__PROFILES__PROFILE__INIT;
	PbValueType t0 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				t1 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	PbValueType *types[2] = {&t0, &t1};
	PbFunction	f[3];
	PbFunction *fp[3];
	ProtobufCBinaryData strs[5];
	const char *s[] = {"", "samples", "count", "space", "bytes"};
	PprofProfile prof;
	PprofEnv	env;
	PprofError	err;
	uint64_t	ids[3] = {7, 123456789, 3};

	for (int i = 0; i < 5; i++)
	{
		strs[i].data = (uint8_t *) s[i];
		strs[i].len = strlen(s[i]);
	}
	pb.string_table = strs;
	pb.n_string_table = 5;
	t0.type = 1;
	t0.unit = 2;
	t1.type = 3;
	t1.unit = 4;
	pb.sample_type = types;
	pb.n_sample_type = 2;
	for (int i = 0; i < 3; i++)
	{
		perftools__profiles__function__init(&f[i]);
		f[i].id = ids[i];
		fp[i] = &f[i];
	}
	pb.function = fp;
	pb.n_function = 3;

	memset(&prof, 0, sizeof(prof));
	prof.pb = &pb;
	env_for(&env, 1 << 20);
	CHECK(pprof_validate(&env, &prof, &err) == PPROF_OK, "validate: %s", err.detail);
	CHECK(prof.functions.dense == NULL, "sparse ids should use bisection");
	CHECK(pprof_idmap_find(&prof.functions, 7) == 0 &&
		  pprof_idmap_find(&prof.functions, 123456789) == 1 &&
		  pprof_idmap_find(&prof.functions, 3) == 2 &&
		  pprof_idmap_find(&prof.functions, 4) == -1 &&
		  pprof_idmap_find(&prof.functions, 0) == -1, "sparse lookups");

	ids[1] = 2;
	f[1].id = 2;
	pprof_arena_reset(arena);
	env_for(&env, 1 << 20);
	CHECK(pprof_validate(&env, &prof, &err) == PPROF_OK, "validate dense: %s", err.detail);
	CHECK(prof.functions.dense != NULL, "small ids should be dense");
	CHECK(pprof_idmap_find(&prof.functions, 2) == 1 &&
		  pprof_idmap_find(&prof.functions, 1000) == -1, "dense lookups");

	/* sample type resolution, as pprof's SampleIndexByName */
	CHECK(pprof_sample_index(&pb, NULL) == 1, "default is the last type");
	CHECK(pprof_sample_index(&pb, "samples") == 0, "by name");
	CHECK(pprof_sample_index(&pb, "inuse_space") == 1, "inuse_ prefix");
	CHECK(pprof_sample_index(&pb, "0") == 0 && pprof_sample_index(&pb, "1") == 1, "numeric index");
	CHECK(pprof_sample_index(&pb, "2") == -1 && pprof_sample_index(&pb, "-1") == -1, "index out of range");
	CHECK(pprof_sample_index(&pb, "nope") == -1 && pprof_sample_index(&pb, "") == -1, "unknown names");
	pb.default_sample_type = 1;
	CHECK(pprof_sample_index(&pb, NULL) == 0, "default_sample_type honoured");
	pb.default_sample_type = 2;
	CHECK(pprof_sample_index(&pb, NULL) == 1, "default_sample_type naming no type falls back to last");
	pprof_arena_reset(arena);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	   *fh = fopen(path, "rb");
	uint8_t    *buf;

	if (!fh)
		return NULL;
	fseek(fh, 0, SEEK_END);
	*len = ftell(fh);
	fseek(fh, 0, SEEK_SET);
	buf = malloc(*len + 1);
	if (fread(buf, 1, *len, fh) != *len)
		*len = 0;
	fclose(fh);
	return buf;
}

/* Decode, re-encode, decode again: same counts and same bytes once packed. */
static void
test_file(const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	bool		expect_ok = strncmp(name, "bad-", 4) != 0;
	size_t		len;
	uint8_t    *data = slurp(path, &len);
	PprofEnv	env;
	PprofProfile prof,
				again;
	PprofError	err;
	PprofStatus st;

	if (data == NULL)
	{
		CHECK(0, "cannot read %s", path);
		return;
	}
	env_for(&env, 256u << 20);
	st = pprof_decode(&env, data, len, &prof, &err);
	CHECK((st == PPROF_OK) == expect_ok, "%s: decode gave %d (%s)", name, st, err.detail);
	if (st != PPROF_OK)
		CHECK(err.detail[0] != '\0', "%s: error without a detail", name);
	if (st == PPROF_OK)
	{
		uint8_t    *raw,
				   *gz;
		size_t		rawlen,
					gzlen;

		CHECK(pprof_pack(&env, prof.pb, &raw, &rawlen, &err) == PPROF_OK, "%s: pack", name);
		CHECK(pprof_gzip(&env, raw, rawlen, 1, &gz, &gzlen, &err) == PPROF_OK, "%s: gzip", name);
		CHECK(pprof_decode(&env, gz, gzlen, &again, &err) == PPROF_OK, "%s: re-decode: %s", name, err.detail);
		CHECK(again.pb->n_sample == prof.pb->n_sample &&
			  again.pb->n_location == prof.pb->n_location &&
			  again.pb->n_function == prof.pb->n_function &&
			  again.pb->n_string_table == prof.pb->n_string_table,
			  "%s: re-encoded profile differs", name);
	}
	pprof_arena_reset(arena);
	free(data);
}

int
main(int argc, char **argv)
{
	arena = pprof_arena_create();
	test_gunzip_limits();
	test_gzip_roundtrip();
	test_idmap_and_index();
	for (int i = 1; i < argc; i++)
		test_file(argv[i]);
	pprof_arena_destroy(arena);
	printf("codec: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
