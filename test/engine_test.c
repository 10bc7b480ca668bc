/*
 * engine_test.c
 *	  Unit tests of the engine (src/engine/), built with AddressSanitizer and
 *	  UndefinedBehaviorSanitizer. Also decodes every file given on the
 *	  command line (the generated cases and the fixtures) under the
 *	  sanitizers, checking that valid-* files decode and bad-* files don't.
 *
 * Usage: engine_test [FILE...]
 *
 * test/engine_test.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "engine/arena.h"
#include "engine/folded.h"
#include "engine/gzip.h"
#include "engine/merge.h"
#include "engine/profile.h"
#include "engine/store.h"
#include "engine/pack.h"
#include "engine/pack_sub.h"
#include "proto/profile.pb-c.h"

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

/*
 * Small single-member streams take libdeflate, the rest zlib's loop: both
 * must give the same bytes, and the loop must still take what the fast
 * path leaves (several members) and refuse what it refuses.
 */
static void
test_gunzip_paths(void)
{
	size_t		sizes[] = {0, 1, 100, 4096, 65537, 1024 * 1024, 1024 * 1024 + 1};
	PprofEnv	env;
	PprofError	err;
	PprofZstd	kept = {0};
	uint8_t    *out;
	size_t		outlen;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
	{
		size_t		n = sizes[k],
					gzlen;
		uint8_t    *data = malloc(n + 1);
		uint8_t    *gz,
				   *two;

		for (size_t i = 0; i < n; i++)
			data[i] = (uint8_t) ((i * 31) ^ (i >> 7));
		gz = ref_gzip(data, n, &gzlen);
		for (int reuse = 0; reuse < 2; reuse++)
		{
			env_for(&env, 4 << 20);
			env.zstd = reuse ? &kept : NULL;
			CHECK(pprof_gunzip(&env, gz, gzlen, &out, &outlen, &err) == PPROF_OK, "gunzip of %zu bytes: %s", n, err.detail);
			CHECK(outlen == n && (n == 0 || memcmp(out, data, n) == 0), "gunzip of %zu bytes differs", n);
			pprof_arena_reset(arena);
		}
		/* two members: the loop reads both, as Go's reader does */
		two = malloc(2 * gzlen);
		memcpy(two, gz, gzlen);
		memcpy(two + gzlen, gz, gzlen);
		env_for(&env, 4 << 20);
		CHECK(pprof_gunzip(&env, two, 2 * gzlen, &out, &outlen, &err) == PPROF_OK && outlen == 2 * n &&
			  (n == 0 || (memcmp(out, data, n) == 0 && memcmp(out + n, data, n) == 0)), "two members of %zu bytes", n);
		pprof_arena_reset(arena);
		/* junk after the member, and a flipped byte of the data */
		two[gzlen] = 0;
		env_for(&env, 4 << 20);
		CHECK(pprof_gunzip(&env, two, gzlen + 3, &out, &outlen, &err) == PPROF_MALFORMED &&
			  strstr(err.detail, "not gzip data") != NULL, "junk after %zu bytes: %s", n, err.detail);
		pprof_arena_reset(arena);
		if (gzlen > 20)
		{
			gz[gzlen - 8] ^= 0x55;		/* the CRC-32 */
			env_for(&env, 4 << 20);
			CHECK(pprof_gunzip(&env, gz, gzlen, &out, &outlen, &err) == PPROF_MALFORMED,
				  "a wrong CRC of %zu bytes accepted", n);
			pprof_arena_reset(arena);
		}
		free(two);
		free(gz);
		free(data);
	}
	pprof_zstd_release(&kept);
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
	/* A small model built in memory: two sample types, three functions. */
	PprofProfile prof;
	PprofValueType types[2] = {{1, 2}, {3, 4}};
	PprofFunction f[3];
	PprofStr	strs[5];
	const char *s[] = {"", "samples", "count", "space", "bytes"};
	PprofEnv	env;
	PprofError	err;

	memset(&prof, 0, sizeof(prof));
	memset(f, 0, sizeof(f));
	for (int i = 0; i < 5; i++)
	{
		strs[i].data = (const uint8_t *) s[i];
		strs[i].len = strlen(s[i]);
	}
	prof.strings = strs;
	prof.n_string = 5;
	prof.sample_types = types;
	prof.n_sample_type = 2;
	f[0].id = 7;
	f[1].id = 123456789;
	f[2].id = 3;
	prof.functions = f;
	prof.n_function = 3;

	env_for(&env, 1 << 20);
	CHECK(pprof_validate(&env, &prof, &err) == PPROF_OK, "validate: %s", err.detail);
	CHECK(prof.function_map.dense == NULL, "sparse ids should use bisection");
	CHECK(pprof_idmap_find(&prof.function_map, 7) == 0 &&
		  pprof_idmap_find(&prof.function_map, 123456789) == 1 &&
		  pprof_idmap_find(&prof.function_map, 3) == 2 &&
		  pprof_idmap_find(&prof.function_map, 4) == -1 &&
		  pprof_idmap_find(&prof.function_map, 0) == -1, "sparse lookups");

	f[1].id = 2;
	pprof_arena_reset(arena);
	env_for(&env, 1 << 20);
	CHECK(pprof_validate(&env, &prof, &err) == PPROF_OK, "validate dense: %s", err.detail);
	CHECK(prof.function_map.dense != NULL, "small ids should be dense");
	CHECK(pprof_idmap_find(&prof.function_map, 2) == 1 &&
		  pprof_idmap_find(&prof.function_map, 1000) == -1, "dense lookups");

	/* sample type resolution, as pprof's SampleIndexByName */
	CHECK(pprof_sample_index(&prof, NULL) == 1, "default is the last type");
	CHECK(pprof_sample_index(&prof, "samples") == 0, "by name");
	CHECK(pprof_sample_index(&prof, "inuse_space") == 1, "inuse_ prefix");
	CHECK(pprof_sample_index(&prof, "0") == 0 && pprof_sample_index(&prof, "1") == 1, "numeric index");
	CHECK(pprof_sample_index(&prof, "2") == -1 && pprof_sample_index(&prof, "-1") == -1, "index out of range");
	CHECK(pprof_sample_index(&prof, "nope") == -1 && pprof_sample_index(&prof, "") == -1, "unknown names");
	prof.default_sample_type = 1;
	CHECK(pprof_sample_index(&prof, NULL) == 0, "default_sample_type honoured");
	prof.default_sample_type = 2;
	CHECK(pprof_sample_index(&prof, NULL) == 1, "default_sample_type naming no type falls back to last");
	pprof_arena_reset(arena);
}

static bool
str_eq(PprofStr a, ProtobufCBinaryData b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/*
 * Our decoder against protobuf-c's generated unpacker (an independent
 * implementation of the same schema) on a valid profile: every field of
 * every message must agree.
 */
static void
compare_with_protobuf_c(const char *name, const PprofProfile *p)
{
	Perftools__Profiles__Profile *pb = perftools__profiles__profile__unpack(NULL, p->raw_size, p->raw);
	int			bad = 0;

	if (pb == NULL)
	{
		CHECK(0, "%s: protobuf-c cannot unpack what we decoded", name);
		return;
	}
#define SAME(cond) do { if (!(cond)) { bad++; if (bad < 4) printf("  %s: mismatch: %s\n", name, #cond); } } while (0)
	SAME(pb->n_sample_type == p->n_sample_type);
	SAME(pb->n_sample == p->n_sample);
	SAME(pb->n_mapping == p->n_mapping);
	SAME(pb->n_location == p->n_location);
	SAME(pb->n_function == p->n_function);
	SAME(pb->n_string_table == p->n_string);
	SAME(pb->n_comment == p->n_comment);
	if (bad == 0)
	{
		for (size_t i = 0; i < p->n_sample_type; i++)
			SAME(pb->sample_type[i]->type == p->sample_types[i].type &&
				 pb->sample_type[i]->unit == p->sample_types[i].unit);
		for (size_t i = 0; i < p->n_sample; i++)
		{
			const Perftools__Profiles__Sample *ps = pb->sample[i];
			const PprofSample *s = &p->samples[i];

			SAME(ps->n_location_id == s->n_loc && ps->n_value == s->n_value && ps->n_label == s->n_label);
			if (bad)
				break;
			for (size_t j = 0; j < s->n_loc; j++)
				SAME(ps->location_id[j] == p->location_ids[s->loc_start + j]);
			for (size_t j = 0; j < s->n_value; j++)
				SAME(ps->value[j] == p->values[s->value_start + j]);
			for (size_t j = 0; j < s->n_label; j++)
			{
				const PprofLabel *l = &p->labels[s->label_start + j];

				SAME(ps->label[j]->key == l->key && ps->label[j]->str == l->str &&
					 ps->label[j]->num == l->num && ps->label[j]->num_unit == l->num_unit);
			}
		}
		for (size_t i = 0; i < p->n_mapping; i++)
		{
			const Perftools__Profiles__Mapping *pm = pb->mapping[i];
			const PprofMapping *m = &p->mappings[i];

			SAME(pm->id == m->id && pm->memory_start == m->memory_start &&
				 pm->memory_limit == m->memory_limit && pm->file_offset == m->file_offset &&
				 pm->filename == m->filename && pm->build_id == m->build_id &&
				 pm->has_functions == m->has_functions && pm->has_filenames == m->has_filenames &&
				 pm->has_line_numbers == m->has_line_numbers &&
				 pm->has_inline_frames == m->has_inline_frames);
		}
		for (size_t i = 0; i < p->n_location; i++)
		{
			const Perftools__Profiles__Location *pl = pb->location[i];
			const PprofLocation *l = &p->locations[i];

			SAME(pl->id == l->id && pl->mapping_id == l->mapping_id &&
				 pl->address == l->address && pl->is_folded == l->is_folded &&
				 pl->n_line == l->n_line);
			for (size_t j = 0; !bad && j < l->n_line; j++)
			{
				const PprofLine *ln = &p->lines[l->line_start + j];

				SAME(pl->line[j]->function_id == ln->function_id &&
					 pl->line[j]->line == ln->line && pl->line[j]->column == ln->column);
			}
		}
		for (size_t i = 0; i < p->n_function; i++)
		{
			const Perftools__Profiles__Function *pf = pb->function[i];
			const PprofFunction *f = &p->functions[i];

			SAME(pf->id == f->id && pf->name == f->name && pf->system_name == f->system_name &&
				 pf->filename == f->filename && pf->start_line == f->start_line);
		}
		for (size_t i = 0; i < p->n_string; i++)
			SAME(str_eq(p->strings[i], pb->string_table[i]));
		for (size_t i = 0; i < p->n_comment; i++)
			SAME(pb->comment[i] == p->comments[i]);
		SAME(pb->time_nanos == p->time_nanos && pb->duration_nanos == p->duration_nanos &&
			 pb->period == p->period && pb->drop_frames == p->drop_frames &&
			 pb->keep_frames == p->keep_frames &&
			 pb->default_sample_type == p->default_sample_type && pb->doc_url == p->doc_url);
		SAME((pb->period_type ? pb->period_type->type : 0) == p->period_type.type &&
			 (pb->period_type ? pb->period_type->unit : 0) == p->period_type.unit);
	}
#undef SAME
	CHECK(bad == 0, "%s: %d fields differ from protobuf-c's decoding", name, bad);
	perftools__profiles__profile__free_unpacked(pb, NULL);
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

/*
 * Decode; for valid files compare with protobuf-c, then store and load
 * again: the same protobuf bytes must come back.
 */
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
		uint8_t    *stored,
				   *raw;
		size_t		stored_len,
					rawlen;

		compare_with_protobuf_c(name, &prof);
		CHECK(pprof_store_pack(&env, prof.raw, prof.raw_size, 3, &stored, &stored_len, &err) == PPROF_OK,
			  "%s: store", name);
		CHECK(pprof_store_unpack(&env, stored, stored_len, &raw, &rawlen, &err) == PPROF_OK &&
			  rawlen == prof.raw_size && memcmp(raw, prof.raw, rawlen) == 0,
			  "%s: stored bytes do not come back", name);
		CHECK(pprof_store_decode(&env, stored, stored_len, &again, &err) == PPROF_OK &&
			  again.n_sample == prof.n_sample, "%s: store decode", name);
		{
			/* merging a profile with itself doubles it and re-decodes cleanly */
			PprofMerger *mg = pprof_merger_create(&env);
			PprofProfile merged;
			uint8_t    *mraw;
			size_t		mlen;

			CHECK(pprof_merger_add(mg, &env, &prof, &err) == PPROF_OK &&
				  pprof_merger_add(mg, &env, &again, &err) == PPROF_OK &&
				  pprof_merger_encode(mg, &env, 1, &mraw, &mlen, &err) == PPROF_OK &&
				  pprof_decode(&env, mraw, mlen, &merged, &err) == PPROF_OK,
				  "%s: self merge: %s", name, err.detail);
		}
		/* a corrupted stored value is refused, never trusted */
		stored[stored_len / 2 + 4] ^= 0x5a;
		st = pprof_store_decode(&env, stored, stored_len, &again, &err);
		CHECK(st != PPROF_OK || stored_len < 16, "%s: corrupted stored value accepted", name);
		stored[0] = 9;
		CHECK(pprof_store_unpack(&env, stored, stored_len, &raw, &rawlen, &err) == PPROF_MALFORMED,
			  "%s: unknown stored version accepted", name);

		/* one whole gzip member: that form kept as received, and a damaged one refused */
		if (prof.gzip_whole)
		{
			const uint8_t *gz;
			size_t		gzlen;

			CHECK(pprof_is_gzip(data, len), "%s: gzip_whole without gzip", name);
			CHECK(pprof_store_keep(&env, data, len, &stored, &stored_len, &err) == PPROF_OK &&
				  stored[0] == PPROF_STORE_GZIP && stored_len == len + PPROF_STORE_HDRSZ,
				  "%s: keep", name);
			CHECK(pprof_store_gzip(stored, stored_len, &gz, &gzlen) && gzlen == len && memcmp(gz, data, len) == 0,
				  "%s: the kept gzip is not the bytes received", name);
			CHECK(pprof_store_unpack(&env, stored, stored_len, &raw, &rawlen, &err) == PPROF_OK &&
				  rawlen == prof.raw_size && memcmp(raw, prof.raw, rawlen) == 0,
				  "%s: kept gzip does not unpack to the same protobuf", name);
			CHECK(pprof_store_decode(&env, stored, stored_len, &again, &err) == PPROF_OK &&
				  again.n_sample == prof.n_sample, "%s: kept store decode", name);
			stored[stored_len - 6] ^= 0x5a;		/* in the CRC-32 */
			CHECK(pprof_store_unpack(&env, stored, stored_len, &raw, &rawlen, &err) == PPROF_MALFORMED &&
				  strstr(err.detail, "stored gzip profile is corrupt") != NULL,
				  "%s: damaged kept gzip accepted (%s)", name, err.detail);
		}
		else
			CHECK(!pprof_is_gzip(data, len) || prof.raw_size > 1024 * 1024 || strstr(name, "two-gzip-members"),
				  "%s: a gzip profile of %zu bytes not read whole", name, prof.raw_size);

		/* the raw stored form (a profile read out of a pack) and packs (0.9.0) */
		CHECK(pprof_store_raw(&env, prof.raw, prof.raw_size, &stored, &stored_len, &err) == PPROF_OK &&
			  stored[0] == PPROF_STORE_RAW && pprof_store_decode(&env, stored, stored_len, &again, &err) == PPROF_OK &&
			  again.n_sample == prof.n_sample, "%s: raw stored form", name);
		{
			const uint8_t *raws[3] = {prof.raw, (const uint8_t *) "", prof.raw};
			size_t		lens[3] = {prof.raw_size, 0, prof.raw_size};
			uint8_t    *pk;
			size_t		pklen;
			PprofPack	opened;
			const uint8_t *e;
			size_t		elen;

			/* 0.9.0's layout (flags 0) still opens */
			CHECK(pprof_pack_build(&env, raws, lens, 3, PPROF_PACK_LEVEL, PPROF_PACK_PLAIN, &pk, &pklen, &err) ==
				  PPROF_OK && pk[1] == 0 && pprof_pack_open(&env, pk, pklen, &opened, &err) == PPROF_OK &&
				  opened.count == 3, "%s: plain pack of three: %s", name, err.detail);
			for (uint32_t i = 0; i < 3; i++)
			{
				pprof_pack_entry(&opened, i, &e, &elen);
				CHECK(elen == lens[i] && (elen == 0 || memcmp(e, raws[i], elen) == 0),
					  "%s: profile %u of the plain pack is not what went in", name, i + 1);
			}
			CHECK(pprof_pack_build(&env, raws, lens, 3, PPROF_PACK_LEVEL, 0, &pk, &pklen, &err) == PPROF_OK &&
				  pprof_pack_open(&env, pk, pklen, &opened, &err) == PPROF_OK && opened.count == 3,
				  "%s: pack of three: %s", name, err.detail);
			/* a Go CPU profile's functions are split (ids one after another: zstd level 1 half the size) */
			CHECK(strstr(name, "-cpu") == NULL || prof.n_function < 10 || (pk[1] & 0x08) != 0,
				  "%s: functions not split (flags %d)", name, pk[1]);
			CHECK((pk[1] & ~0x0f) == 0, "%s: unknown pack flags %d", name, pk[1]);
			/* the large synthetic profile's samples are split, its stacks coded per profile (pack_ctx.h): */
			/* a pack that failed its check would have come back in 0.9.0's layout */
			CHECK(strstr(name, "large-cpu") == NULL || (pk[1] & 0x01) != 0,
				  "%s: samples not split (flags %d)", name, pk[1]);
			for (uint32_t i = 0; i < 3; i++)
			{
				pprof_pack_entry(&opened, i, &e, &elen);
				CHECK(elen == lens[i] && (elen == 0 || memcmp(e, raws[i], elen) == 0),
					  "%s: profile %u of the pack is not what went in", name, i + 1);
			}
			/* every damaged byte refused, never a crash (the frame's checksum) */
			for (size_t at = 0; at < pklen; at += 1 + pklen / 64)
			{
				pk[at] ^= 0x21;
				st = pprof_pack_open(&env, pk, pklen, &opened, &err);
				CHECK(st != PPROF_OK && err.detail[0] != '\0', "%s: pack damaged at byte %zu accepted", name, at);
				pk[at] ^= 0x21;
			}
			CHECK(pprof_pack_open(&env, pk, pklen - 1, &opened, &err) == PPROF_MALFORMED,
				  "%s: a cut pack accepted", name);
			env.max_size = prof.raw_size;
			CHECK(pprof_pack_open(&env, pk, pklen, &opened, &err) == PPROF_TOO_LARGE,
				  "%s: a pack over max_size opened", name);
			CHECK(pprof_pack_build(&env, raws, lens, 3, PPROF_PACK_LEVEL, 0, &pk, &pklen, &err) == PPROF_TOO_LARGE,
				  "%s: a pack over max_size built", name);
			env.max_size = 256u << 20;
		}
	}
	pprof_arena_reset(arena);
	free(data);
}

/*
 * Merging the same profile 10,000 times: the merge state must not grow
 * after the first copy (it grows with distinct stacks, not with inputs),
 * and the result must hold 10,000 times the values.
 */
static void
test_merge_memory(const char *path)
{
	size_t		len;
	uint8_t    *data = slurp(path, &len);
	PprofArena *keep = pprof_arena_create(),
			   *scratch = pprof_arena_create();
	PprofEnv	kenv,
				senv;
	PprofProfile prof,
				out;
	PprofError	err;
	PprofMerger *m;
	size_t		after1 = 0,
				after2 = 0;
	uint8_t    *raw;
	size_t		rawlen;
	int64_t		before_total = 0,
				after_total = 0;
	int			idx;

	if (data == NULL)
		return;
	pprof_arena_env(keep, &kenv, 1u << 30);
	if (pprof_decode(&kenv, data, len, &prof, &err) != PPROF_OK)
	{
		CHECK(0, "decode %s", path);
		return;
	}
	m = pprof_merger_create(&kenv);
	for (int i = 0; i < 10000; i++)
	{
		pprof_arena_env(scratch, &senv, 1u << 30);
		if (pprof_merger_add(m, &senv, &prof, &err) != PPROF_OK)
			break;
		pprof_arena_reset(scratch);
		if (i == 0)
			after1 = pprof_merger_bytes(m);
		if (i == 1)
			after2 = pprof_merger_bytes(m);
	}
	CHECK(pprof_merger_count(m) == 10000, "merged %llu profiles", (unsigned long long) pprof_merger_count(m));
	CHECK(pprof_merger_bytes(m) == after2 && after2 == after1,
		  "merge state grew: %zu bytes after 1, %zu after 2, %zu after 10,000",
		  after1, after2, pprof_merger_bytes(m));
	printf("merge state: %zu bytes after 1 profile, %zu after 10,000 (input %zu bytes raw)\n",
		   after1, pprof_merger_bytes(m), prof.raw_size);
	pprof_arena_env(scratch, &senv, 1u << 30);
	CHECK(pprof_merger_encode(m, &senv, 1, &raw, &rawlen, &err) == PPROF_OK &&
		  pprof_decode(&senv, raw, rawlen, &out, &err) == PPROF_OK, "encode merged");
	idx = pprof_sample_index(&prof, NULL);
	for (size_t i = 0; i < prof.n_sample; i++)
		before_total += pprof_sample_values(&prof, i)[idx];
	for (size_t i = 0; i < out.n_sample; i++)
		after_total += pprof_sample_values(&out, i)[idx];
	CHECK(after_total == before_total * 10000, "merged total %lld, expected %lld",
		  (long long) after_total, (long long) before_total * 10000);
	pprof_arena_destroy(scratch);
	pprof_arena_destroy(keep);
	free(data);
}

/* Whether string i of a protobuf-c decoded profile is s. */
static bool
pb_str_is(const Perftools__Profiles__Profile *pb, uint64_t i, const char *s)
{
	return i < pb->n_string_table && pb->string_table[i].len == strlen(s) &&
		memcmp(pb->string_table[i].data, s, strlen(s)) == 0;
}

/* Appends the name of function id f. */
static void
pb_append_func(const Perftools__Profiles__Profile *pb, uint64_t f, char *out, size_t outlen)
{
	for (size_t i = 0; i < pb->n_function; i++)
		if (pb->function[i]->id == f && pb->function[i]->name < (int64_t) pb->n_string_table)
		{
			const ProtobufCBinaryData *b = &pb->string_table[pb->function[i]->name];
			size_t		n = strlen(out);

			snprintf(out + n, outlen - n, "%.*s", (int) b->len, (const char *) b->data);
		}
}

/* Sample i's stack as "leaf<root", read through its locations. */
static void
pb_stack(const Perftools__Profiles__Profile *pb, size_t i, char *out, size_t outlen)
{
	const Perftools__Profiles__Sample *s = pb->sample[i];

	out[0] = '\0';
	for (size_t j = 0; j < s->n_location_id; j++)
		for (size_t k = 0; k < pb->n_location; k++)
			if (pb->location[k]->id == s->location_id[j] && pb->location[k]->n_line == 1)
			{
				if (j > 0)
					strncat(out, "<", outlen - strlen(out) - 1);
				pb_append_func(pb, pb->location[k]->line[0]->function_id, out, outlen);
			}
}

static PprofStatus
folded(const char *text, const PprofFoldedSpec *spec, Perftools__Profiles__Profile **pb, PprofError *err)
{
	PprofEnv	env;
	uint8_t    *raw;
	size_t		len;
	PprofStatus st;
	PprofProfile prof;

	env_for(&env, 1 << 20);
	st = pprof_from_folded(&env, text, strlen(text), spec, &raw, &len, err);
	if (st != PPROF_OK)
		return st;
	/* the engine's own decoder accepts it (every check Go's makes) */
	CHECK(pprof_decode(&env, raw, len, &prof, err) == PPROF_OK, "folded output does not decode: %s", err->detail);
	*pb = perftools__profiles__profile__unpack(NULL, len, raw);
	CHECK(*pb != NULL, "protobuf-c cannot read the folded output");
	return *pb ? PPROF_OK : PPROF_INTERNAL;
}

/*
 * Split streams (0.9.1): every way a message may be written comes back
 * byte for byte; what does not read as messages is not split; a damaged
 * split stream is refused or read, never a crash.
 */
/* Appends v as a varint at p[*at]. */
static void
test_varint(uint8_t *p, size_t *at, uint64_t v)
{
	while (v >= 0x80)
	{
		p[(*at)++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	p[(*at)++] = (uint8_t) v;
}

/*
 * Stacks coded over the id before each (pack_ctx.h, 0.9.2): samples of two
 * profiles walking one call graph (400 functions, 3 callees each), each
 * profile numbering its locations in the order it meets them, as Go does.
 * The split must take the symbols, give the stream back byte for byte with
 * its parts, and never crash on damaged bytes or other parts.
 */
static void
test_pack_ctx(PprofEnv *env)
{
	enum
	{
		NODES = 400, PER = 300
	};
	static uint16_t callee[NODES][3];
	uint16_t	num[NODES];
	uint64_t	x = 88172645463325292ULL;
	uint8_t    *stream = malloc(2 * PER * 256),
			   *split,
			   *back;
	size_t		len = 0,
				splitlen,
				backlen;
	uint32_t	parts[2] = {PER, PER},
				one[1] = {2 * PER};
	PprofError	err;
	PprofStatus st;

#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	for (int i = 0; i < NODES; i++)
		for (int j = 0; j < 3; j++)
			callee[i][j] = (uint16_t) (RND() % NODES);
	for (int part = 0; part < 2; part++)
	{
		uint16_t	next = 1;

		memset(num, 0, sizeof(num));
		for (int smp = 0; smp < PER; smp++)
		{
			uint16_t	walk[32];
			int			depth = 4 + (int) (RND() % 24);
			uint8_t		msg[256];
			size_t		ml = 0,
						sl = 0;
			uint8_t		stk[128];

			walk[0] = 0;
			for (int d = 1; d < depth; d++)
				walk[d] = callee[walk[d - 1]][RND() % 3];
			for (int d = depth - 1; d >= 0; d--)	/* leaf first */
			{
				if (num[walk[d]] == 0)
					num[walk[d]] = next++;
				test_varint(stk, &sl, num[walk[d]]);
			}
			msg[ml++] = 0x0a;
			test_varint(msg, &ml, sl);
			memcpy(msg + ml, stk, sl);
			ml += sl;
			msg[ml++] = 0x10;
			test_varint(msg, &ml, 1 + RND() % 50);
			stream[len++] = 0x12;
			test_varint(stream, &len, ml);
			memcpy(stream + len, msg, ml);
			len += ml;
		}
	}
#undef RND
	CHECK(pprof_pack_sub_encode(env, stream, len, 2, 1, parts, 2, &split, &splitlen) && (split[0] & 0x0c) == 0x0c,
		  "call-graph stacks: not coded over the id before (flags %d)", split[0]);
	CHECK(pprof_pack_sub_decode(env, split, splitlen, 2, parts, 2, &back, &backlen, &err) == PPROF_OK &&
		  backlen == len && memcmp(back, stream, len) == 0,
		  "call-graph stacks: not back byte for byte (%s)", err.detail);
	/* other parts than it was split with: refused or other bytes, never a crash */
	st = pprof_pack_sub_decode(env, split, splitlen, 2, one, 1, &back, &backlen, &err);
	CHECK(st == PPROF_MALFORMED || (st == PPROF_OK && (backlen != len || memcmp(back, stream, len) != 0)),
		  "call-graph stacks: read back the same with other parts (status %d)", (int) st);
	for (size_t at = 0; at < splitlen; at++)
	{
		split[at] ^= 0x41;
		st = pprof_pack_sub_decode(env, split, splitlen, 2, parts, 2, &back, &backlen, &err);
		CHECK(st == PPROF_OK || st == PPROF_TOO_LARGE ||
			  (st == PPROF_MALFORMED && strstr(err.detail, "corrupt") != NULL),
			  "call-graph stacks damaged at %zu: status %d", at, (int) st);
		split[at] ^= 0x41;
	}
	/* without parts: one part, and the coder still gives it back */
	CHECK(pprof_pack_sub_encode(env, stream, len, 2, 1, NULL, 0, &split, &splitlen) &&
		  pprof_pack_sub_decode(env, split, splitlen, 2, NULL, 0, &back, &backlen, &err) == PPROF_OK &&
		  backlen == len && memcmp(back, stream, len) == 0, "call-graph stacks in one part: not back (%s)", err.detail);
	free(stream);
}

static void
test_pack_sub(void)
{
	/* samples (field 2) written every way the wire format allows */
	static const uint8_t samples[] = {
		0x12, 0x06, 0x0a, 0x02, 0x01, 0x02, 0x10, 0x05,	/* stack [1 2], value 5 */
		0x12, 0x06, 0x0a, 0x02, 0x01, 0x02, 0x10, 0x07,	/* the same stack: named */
		0x12, 0x07, 0x0a, 0x03, 0x80, 0x80, 0x04, 0x10, 0x01,	/* an id >= 2^16: no byte planes */
		0x92, 0x00, 0x03, 0x0a, 0x01, 0x03,		/* a tag that is not shortest */
		0x12, 0x07, 0x0a, 0x82, 0x00, 0x01, 0x02, 0x00, 0x00,	/* a length that is not shortest; field 0 */
		0x12, 0x08, 0x0a, 0x02, 0x01, 0x02, 0x0a, 0x02, 0x01, 0x02,	/* the stack twice in one sample */
		0x12, 0x11, 0x08, 0x85, 0x00, 0x1d, 1, 2, 3, 4, 0x19, 1, 2, 3, 4, 5, 6, 7, 8,	/* id not shortest, fixed32, fixed64 */
		0x12, 0x03, 0xa0, 0x01, 0x09,			/* field 20 */
		0x12, 0x00,								/* empty */
		0x12, 0x82, 0x00, 0x00, 0x00,			/* the message length not shortest */
	};
	/* an id of ten bytes with bits past 64 in the last, the only id not in shortest form (fuzz_decode found it) */
	static const uint8_t overflow[] = {
		0x12, 0x0d, 0x08, 0x80, 0xcb, 0xcb, 0xca, 0xcb, 0xcb, 0xcb, 0xca, 0xcb, 0x03, 0x08, 0x05,
	};
	/* functions (field 5): ids in order, then not */
	static const uint8_t functions[] = {
		0x2a, 0x04, 0x08, 0x01, 0x10, 0x05,
		0x2a, 0x04, 0x08, 0x02, 0x10, 0x06,
		0x2a, 0x04, 0x08, 0x01, 0x10, 0x07,
	};
	static const uint8_t not_messages[][6] = {
		{0x12, 0x02, 0x0b, 0x00},				/* a group (wire type 3) */
		{0x12, 0x03, 0x0a, 0x05, 0x01},			/* a field longer than its message */
		{0x1a, 0x01, 0x08},						/* another field number */
		{0x12, 0x05, 0x08},						/* cut */
	};
	const struct
	{
		const uint8_t *p;
		size_t		len;
		int			field;
		int			dedup;
	}			cases[] = {
		{samples, sizeof(samples), 2, 1},
		{samples, sizeof(samples), 2, 0},
		{samples, 16, 2, 1},					/* the first two alone: byte planes */
		{functions, sizeof(functions), 5, 0},
		{overflow, sizeof(overflow), 2, 1},
	};
	PprofEnv	env;
	PprofError	err;
	uint8_t    *split,
			   *back;
	size_t		splitlen,
				backlen;

	pprof_arena_env(arena, &env, 1u << 20);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		bool		ok = pprof_pack_sub_encode(&env, cases[c].p, cases[c].len, cases[c].field, cases[c].dedup,
											   NULL, 0, &split, &splitlen);

		CHECK(ok, "split case %zu refused", c);
		if (!ok)
			continue;
		CHECK(pprof_pack_sub_decode(&env, split, splitlen, cases[c].field, NULL, 0, &back, &backlen, &err) == PPROF_OK &&
			  backlen == cases[c].len && memcmp(back, cases[c].p, backlen) == 0,
			  "split case %zu does not come back byte for byte (%s)", c, err.detail);
		if (c == 2)
			CHECK((split[0] & 0x04) != 0, "split case 2: no byte planes");
		if (c == 0)
			CHECK((split[0] & 0x04) == 0 && (split[0] & 0x01) == 0,
				  "split case 0: byte planes with an id over 2^16, or heads taken as shortest (flags %d)", split[0]);
		/* every damaged byte: refused or read, never a crash (ASan runs this too) */
		for (size_t at = 0; at < splitlen; at++)
		{
			PprofStatus st;

			split[at] ^= 0x41;
			st = pprof_pack_sub_decode(&env, split, splitlen, cases[c].field, NULL, 0, &back, &backlen, &err);
			CHECK(st == PPROF_OK || st == PPROF_TOO_LARGE ||
				  (st == PPROF_MALFORMED && strstr(err.detail, "corrupt") != NULL),
				  "split case %zu damaged at %zu: status %d", c, at, (int) st);
			split[at] ^= 0x41;
		}
		CHECK(pprof_pack_sub_decode(&env, split, splitlen - 1, cases[c].field, NULL, 0, &back, &backlen, &err) ==
			  PPROF_MALFORMED, "split case %zu cut short accepted", c);
	}
	/* samples of 140 and of 20,000 bytes, each twice (named the second time), in shortest form: a head
	 * longer than two bytes (fuzz_decode found such heads written over the fields' start) */
	for (int big = 0; big < 2; big++)
	{
		size_t		nids = big ? 10000 : 130,
					plen = 0,
					len = 0;
		uint8_t    *payload = malloc(3 * nids + 16),
				   *stream = malloc(2 * (3 * nids + 32));

		for (size_t i = 1; i <= nids; i++)
			plen += i < 128 ? 1 : i < 16384 ? 2 : 3;
		for (int copy = 0; copy < 2; copy++)
		{
			size_t		mlen,
						at;

			at = 0;
			payload[at++] = 0x0a;				/* the stack, packed */
			if (plen < 128)
				payload[at++] = (uint8_t) plen;
			else if (plen < 16384)
				payload[at++] = (uint8_t) (plen | 0x80), payload[at++] = (uint8_t) (plen >> 7);
			else
				payload[at++] = (uint8_t) (plen | 0x80), payload[at++] = (uint8_t) ((plen >> 7) | 0x80),
					payload[at++] = (uint8_t) (plen >> 14);
			for (size_t i = 1; i <= nids; i++)
			{
				if (i < 128)
					payload[at++] = (uint8_t) i;
				else if (i < 16384)
					payload[at++] = (uint8_t) (i | 0x80), payload[at++] = (uint8_t) (i >> 7);
				else
					payload[at++] = (uint8_t) (i | 0x80), payload[at++] = (uint8_t) ((i >> 7) | 0x80),
						payload[at++] = (uint8_t) (i >> 14);
			}
			payload[at++] = 0x10;				/* a value */
			payload[at++] = (uint8_t) (copy + 1);
			mlen = at;
			stream[len++] = 0x12;
			if (mlen < 128)
				stream[len++] = (uint8_t) mlen;
			else if (mlen < 16384)
				stream[len++] = (uint8_t) (mlen | 0x80), stream[len++] = (uint8_t) (mlen >> 7);
			else
				stream[len++] = (uint8_t) (mlen | 0x80), stream[len++] = (uint8_t) ((mlen >> 7) | 0x80),
					stream[len++] = (uint8_t) (mlen >> 14);
			memcpy(stream + len, payload, mlen);
			len += mlen;
		}
		CHECK(pprof_pack_sub_encode(&env, stream, len, 2, 1, NULL, 0, &split, &splitlen) && (split[0] & 0x05) == 0x05 &&
			  pprof_pack_sub_decode(&env, split, splitlen, 2, NULL, 0, &back, &backlen, &err) == PPROF_OK &&
			  backlen == len && memcmp(back, stream, len) == 0,
			  "samples of %zu ids: not back byte for byte", nids);
		free(payload);
		free(stream);
	}
	for (size_t c = 0; c < sizeof(not_messages) / sizeof(not_messages[0]); c++)
	{
		size_t		len = not_messages[c][1] + 2u > 6 ? 6 : not_messages[c][1] + 2u;

		CHECK(!pprof_pack_sub_encode(&env, not_messages[c], len, 2, 1, NULL, 0, &split, &splitlen),
			  "not messages %zu split", c);
	}
	test_pack_ctx(&env);
	pprof_arena_reset(arena);
}

static void
test_folded(void)
{
	PprofFoldedSpec spec = {.ntypes = 1, .type = {"samples"}, .unit = {"count"}, .scale = {1}};
	PprofFoldedSpec cpu = {.ntypes = 2, .type = {"samples", "cpu"}, .unit = {"count", "nanoseconds"},
	.scale = {1, 10000000}, .period_type = "cpu", .period_unit = "nanoseconds", .period = 10000000,
	.time_nanos = 1700000000123456789LL, .duration_nanos = 10000000000LL};
	Perftools__Profiles__Profile *pb;
	PprofError	err;
	char		st[256];

	if (folded("main;a;b 3\nmain;a;c 2\n\n  \nmain;d\t1\r\nmain;a;b 4", &spec, &pb, &err) == PPROF_OK)
	{
		CHECK(pb->n_sample == 4 && pb->n_function == 5 && pb->n_location == 5,
			  "folded: %zu samples, %zu functions, %zu locations", pb->n_sample, pb->n_function, pb->n_location);
		pb_stack(pb, 0, st, sizeof(st));
		CHECK(strcmp(st, "b<a<main") == 0 && pb->sample[0]->value[0] == 3, "folded: first sample %s %lld", st,
			  (long long) pb->sample[0]->value[0]);
		pb_stack(pb, 2, st, sizeof(st));
		CHECK(strcmp(st, "d<main") == 0 && pb->sample[2]->value[0] == 1, "folded: third sample %s", st);
		CHECK(pb->sample[3]->value[0] == 4 && pb->sample[3]->location_id[0] == pb->sample[0]->location_id[0],
			  "folded: a repeated stack reuses its locations");
		CHECK(pb->n_sample_type == 1 && pb_str_is(pb, pb->sample_type[0]->type, "samples") &&
			  pb_str_is(pb, pb->sample_type[0]->unit, "count"), "folded: sample type");
		CHECK(pb->time_nanos == 0 && pb->period_type == NULL, "folded: no time, no period");
		perftools__profiles__profile__free_unpacked(pb, NULL);
	}
	else
		CHECK(0, "folded: %s", err.detail);
	if (folded("x;y 7\nz 2\n", &cpu, &pb, &err) == PPROF_OK)
	{
		CHECK(pb->n_sample_type == 2 && pb->sample[0]->n_value == 2 && pb->sample[0]->value[1] == 70000000,
			  "folded: scaled second type");
		CHECK(pb->period == 10000000 && pb->period_type &&
			  pb_str_is(pb, pb->period_type->type, "cpu") &&
			  pb->time_nanos == 1700000000123456789LL && pb->duration_nanos == 10000000000LL,
			  "folded: period, time, duration");
		perftools__profiles__profile__free_unpacked(pb, NULL);
	}
	else
		CHECK(0, "folded cpu: %s", err.detail);
	spec.lines = true;
	if (folded("x;y\nx;y\nw\n", &spec, &pb, &err) == PPROF_OK)
	{
		CHECK(pb->n_sample == 3 && pb->sample[0]->value[0] == 1 && pb->sample[2]->value[0] == 1,
			  "lines: each line counts once");
		perftools__profiles__profile__free_unpacked(pb, NULL);
	}
	else
		CHECK(0, "lines: %s", err.detail);
	spec.lines = false;
	CHECK(folded("a;b\n", &spec, &pb, &err) == PPROF_MALFORMED && strstr(err.detail, "Line 1"),
		  "folded: no count refused (%s)", err.detail);
	CHECK(folded("a;b 1\na;;b 2\n", &spec, &pb, &err) == PPROF_MALFORMED && strstr(err.detail, "Line 2 has an empty frame"),
		  "folded: empty frame refused (%s)", err.detail);
	CHECK(folded(";a 1\n", &spec, &pb, &err) == PPROF_MALFORMED, "folded: empty root frame refused");
	CHECK(folded("a 99999999999999999999\n", &spec, &pb, &err) == PPROF_MALFORMED, "folded: huge count refused");
	CHECK(folded("a -1\n", &spec, &pb, &err) == PPROF_MALFORMED, "folded: negative count refused");
	CHECK(folded("\n\n", &spec, &pb, &err) == PPROF_MALFORMED && strstr(err.detail, "no stacks"), "folded: nothing refused");
	CHECK(folded("a 4611686018427387904\n", &cpu, &pb, &err) == PPROF_OVERFLOW, "folded: overflow refused");
}

int
main(int argc, char **argv)
{
	arena = pprof_arena_create();
	test_gunzip_limits();
	test_gunzip_paths();
	test_gzip_roundtrip();
	test_idmap_and_index();
	test_folded();
	test_pack_sub();
	for (int i = 1; i < argc; i++)
	{
		test_file(argv[i]);
		if (strstr(argv[i], "i1-cpu.pb.gz"))
			test_merge_memory(argv[i]);
	}
	pprof_arena_destroy(arena);
	printf("engine: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
