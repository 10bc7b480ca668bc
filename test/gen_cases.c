/*
 * gen_cases.c
 *	  Writes hand-built pprof profiles, valid and malformed, into a folder.
 *
 * Each file is one case; its name says what is wrong with it (valid-* are
 * valid). The test suite feeds every file to both Go's profile.Parse (the
 * reference) and profefe, and checks that the verdicts agree, and the SQL
 * tests check profefe's error messages for them.
 *
 * Usage: gen_cases OUTDIR
 *
 * test/gen_cases.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "proto/profile.pb-c.h"

static const char *outdir;

/* ---- a small but complete base profile, rebuilt for every case ---- */

static Perftools__Profiles__Profile prof;
static Perftools__Profiles__ValueType st[2], period_type;
static Perftools__Profiles__ValueType *stp[2];
static Perftools__Profiles__Sample samples[3];
static Perftools__Profiles__Sample *samplep[3];
static Perftools__Profiles__Mapping mapping[1];
static Perftools__Profiles__Mapping *mappingp[1];
static Perftools__Profiles__Location locs[3];
static Perftools__Profiles__Location *locp[3];
static Perftools__Profiles__Line lines[4];
static Perftools__Profiles__Line *linep[4];
static Perftools__Profiles__Function funcs[3];
static Perftools__Profiles__Function *funcp[3];
static Perftools__Profiles__Label labels[2];
static Perftools__Profiles__Label *labelp[2];
static ProtobufCBinaryData strs[24];
static uint64_t s_locs[3][3];
static int64_t s_vals[3][2];
static int64_t comments[1];

static const char *const strings[] = {
	"", "samples", "count", "cpu", "nanoseconds", "main.main", "main.go",
	"main.work", "runtime.goexit", "/bin/app", "route", "/checkout",
	"bytes", "a comment", "work.go", "buildid-1",
	/* 16-21: strings again, at other indexes (for the valid-dup-* cases) */
	"", "main.main", "/bin/app", "bytes", "route", "main.go"
};

static void
base(void)
{
	perftools__profiles__profile__init(&prof);
	for (int i = 0; i < 22; i++)
	{
		strs[i].data = (uint8_t *) strings[i];
		strs[i].len = strlen(strings[i]);
	}
	prof.n_string_table = 16;
	prof.string_table = strs;

	for (int i = 0; i < 2; i++)
	{
		perftools__profiles__value_type__init(&st[i]);
		stp[i] = &st[i];
	}
	st[0].type = 1;
	st[0].unit = 2;
	st[1].type = 3;
	st[1].unit = 4;
	prof.n_sample_type = 2;
	prof.sample_type = stp;
	perftools__profiles__value_type__init(&period_type);
	period_type.type = 3;
	period_type.unit = 4;
	prof.period_type = &period_type;
	prof.period = 10000000;
	prof.time_nanos = 1700000000123456789LL;
	prof.duration_nanos = 10000000000LL;
	comments[0] = 13;
	prof.n_comment = 1;
	prof.comment = comments;

	perftools__profiles__mapping__init(&mapping[0]);
	mapping[0].id = 1;
	mapping[0].memory_start = 0x400000;
	mapping[0].memory_limit = 0x800000;
	mapping[0].filename = 9;
	mapping[0].build_id = 15;
	mapping[0].has_functions = 1;
	mappingp[0] = &mapping[0];
	prof.n_mapping = 1;
	prof.mapping = mappingp;

	for (int i = 0; i < 3; i++)
	{
		perftools__profiles__function__init(&funcs[i]);
		funcs[i].id = i + 1;
		funcp[i] = &funcs[i];
	}
	funcs[0].name = 5;
	funcs[0].system_name = 5;
	funcs[0].filename = 6;
	funcs[0].start_line = 10;
	funcs[1].name = 7;
	funcs[1].system_name = 7;
	funcs[1].filename = 14;
	funcs[2].name = 8;
	funcs[2].system_name = 8;
	prof.n_function = 3;
	prof.function = funcp;

	for (int i = 0; i < 4; i++)
	{
		perftools__profiles__line__init(&lines[i]);
		linep[i] = &lines[i];
	}
	lines[0].function_id = 2;
	lines[0].line = 20;
	lines[1].function_id = 1;	/* work inlined into main */
	lines[1].line = 12;
	lines[2].function_id = 1;
	lines[2].line = 14;
	lines[3].function_id = 3;
	lines[3].line = 1;
	for (int i = 0; i < 3; i++)
	{
		perftools__profiles__location__init(&locs[i]);
		locs[i].id = i + 1;
		locs[i].mapping_id = 1;
		locs[i].address = 0x401000 + 0x10 * i;
		locp[i] = &locs[i];
	}
	locs[0].n_line = 2;
	locs[0].line = &linep[0];
	locs[1].n_line = 1;
	locs[1].line = &linep[2];
	locs[2].n_line = 1;
	locs[2].line = &linep[3];
	prof.n_location = 3;
	prof.location = locp;

	perftools__profiles__label__init(&labels[0]);
	labels[0].key = 10;
	labels[0].str = 11;
	perftools__profiles__label__init(&labels[1]);
	labels[1].key = 12;
	labels[1].num = 1024;
	labels[1].num_unit = 12;
	labelp[0] = &labels[0];
	labelp[1] = &labels[1];
	for (int i = 0; i < 3; i++)
	{
		perftools__profiles__sample__init(&samples[i]);
		samplep[i] = &samples[i];
		s_vals[i][0] = i + 1;
		s_vals[i][1] = (i + 1) * 10000000LL;
		samples[i].n_value = 2;
		samples[i].value = s_vals[i];
		samples[i].location_id = s_locs[i];
	}
	s_locs[0][0] = 1;
	s_locs[0][1] = 3;
	samples[0].n_location_id = 2;
	s_locs[1][0] = 2;
	s_locs[1][1] = 3;
	samples[1].n_location_id = 2;
	s_locs[2][0] = 1;
	s_locs[2][1] = 2;
	s_locs[2][2] = 3;
	samples[2].n_location_id = 3;
	samples[0].n_label = 2;
	samples[0].label = labelp;
	samples[2].n_label = 1;
	samples[2].label = labelp;
	prof.n_sample = 3;
	prof.sample = samplep;
}

static void
write_file(const char *name, const uint8_t *data, size_t len)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		fprintf(stderr, "gen_cases: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static uint8_t *
pack(size_t *len)
{
	size_t		n = perftools__profiles__profile__get_packed_size(&prof);
	uint8_t    *buf = malloc(n + 1);

	*len = perftools__profiles__profile__pack(&prof, buf);
	return buf;
}

static uint8_t *
gzip_bytes(const uint8_t *in, size_t len, size_t *outlen)
{
	z_stream	zs;
	size_t		cap;
	uint8_t    *out;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	cap = deflateBound(&zs, len) + 64;
	out = malloc(cap);
	zs.next_in = (Bytef *) in;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

/* Writes the current profile as raw protobuf. */
static void
emit(const char *name)
{
	size_t		len;
	uint8_t    *buf = pack(&len);

	write_file(name, buf, len);
	free(buf);
	base();
}

int
main(int argc, char **argv)
{
	size_t		len,
				gzlen;
	uint8_t    *raw,
			   *gz;

	if (argc != 2)
	{
		fprintf(stderr, "usage: gen_cases OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	base();

	/* valid cases */
	emit("valid-base.pb");
	raw = pack(&len);
	gz = gzip_bytes(raw, len, &gzlen);
	write_file("valid-base.pb.gz", gz, gzlen);

	{
		/* Unknown fields at top level and inside a sample are skipped. */
		uint8_t    *buf = malloc(len + 16);

		memcpy(buf, raw, len);
		/* field 100, varint 7; field 101, bytes "xy" */
		memcpy(buf + len, "\xa0\x06\x07\xaa\x06\x02xy", 8);
		write_file("valid-unknown-fields.pb", buf, len + 8);
		free(buf);
	}
	{
		/* Two gzip members whose contents concatenate to the profile. */
		size_t		g1,
					g2;
		uint8_t    *a = gzip_bytes(raw, len / 2, &g1);
		uint8_t    *b = gzip_bytes(raw + len / 2, len - len / 2, &g2);
		uint8_t    *both = malloc(g1 + g2);

		memcpy(both, a, g1);
		memcpy(both + g1, b, g2);
		write_file("valid-two-gzip-members.pb.gz", both, g1 + g2);
		free(a);
		free(b);
		free(both);
	}
	{
		/*
		 * Hand-encoded: repeated fields unpacked (one element per tag), as
		 * older encoders write them.
		 */
		static const uint8_t unpacked[] = {
			0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,	/* sample_type {type 1, unit 2} */
			/* sample { location_id 1; location_id 2; value 5 } unpacked */
			0x12, 0x06, 0x08, 0x01, 0x08, 0x02, 0x10, 0x05,
			/* location { id 1 } and { id 2 } */
			0x22, 0x02, 0x08, 0x01,
			0x22, 0x02, 0x08, 0x02,
			/* string_table "", "samples", "count" */
			0x32, 0x00,
			0x32, 0x07, 's', 'a', 'm', 'p', 'l', 'e', 's',
			0x32, 0x05, 'c', 'o', 'u', 'n', 't',
		};

		write_file("valid-unpacked-repeated.pb", unpacked, sizeof(unpacked));
	}
	{
		static const uint8_t minimal[] = {0x32, 0x00};

		write_file("valid-minimal.pb", minimal, sizeof(minimal));
	}
	locs[1].mapping_id = 77;
	emit("valid-unknown-mapping-id.pb");
	for (int i = 0; i < 3; i++)
		s_vals[i][0] = s_vals[i][1] = 0;
	emit("valid-all-zero-values.pb");
	s_vals[0][1] = s_vals[1][1] = INT64_MAX;
	emit("valid-total-overflow.pb");
	prof.n_sample = 0;
	emit("valid-no-samples.pb");
	prof.time_nanos = 0;
	emit("valid-no-time.pb");

	/*
	 * Duplicate strings: a string table may hold the same string twice
	 * (encoders need not deduplicate), and Go compares strings, not their
	 * indexes. Merging copies of these must give what Merge gives: one
	 * mapping, one function per distinct key, one sample per stack.
	 */
	prof.n_string_table = 22;
	mapping[0].build_id = 16;	/* an empty build id that is not string 0 */
	emit("valid-dup-empty-build-id.pb");
	prof.n_string_table = 22;
	funcs[2].name = 17;			/* a second main.main: the same function as 1 */
	funcs[2].system_name = 5;
	funcs[2].filename = 21;
	funcs[2].start_line = 10;
	mapping[0].filename = 18;
	labels[0].key = 20;			/* "route" again */
	labels[1].num_unit = 19;	/* "bytes" again */
	emit("valid-dup-strings.pb");
	prof.n_string_table = 22;
	labels[0].str = 16;			/* a string label whose value is "" */
	labels[1].num_unit = 16;	/* a numeric label whose unit is "" */
	prof.default_sample_type = 16;	/* names no sample type */
	period_type.unit = 16;
	emit("valid-dup-empty-strings.pb");

	/* malformed string table */
	prof.n_string_table = 0;
	emit("bad-empty-string-table.pb");
	prof.string_table = strs + 1;
	prof.n_string_table = 15;
	emit("bad-string0-not-empty.pb");

	/* string indices */
	funcs[1].name = 16;
	emit("bad-function-name-index.pb");
	st[1].unit = -1;
	emit("bad-negative-sample-type-index.pb");
	labels[0].key = 99;
	emit("bad-label-key-index.pb");
	labels[1].num_unit = 1000;
	emit("bad-label-unit-index.pb");
	mapping[0].build_id = 16;
	emit("bad-mapping-build-id-index.pb");
	comments[0] = 40;
	emit("bad-comment-index.pb");
	prof.drop_frames = 16;
	emit("bad-drop-frames-index.pb");
	prof.default_sample_type = 17;
	emit("bad-default-sample-type-index.pb");
	period_type.unit = 300;
	emit("bad-period-unit-index.pb");

	/* ids */
	mapping[0].id = 0;
	emit("bad-zero-mapping-id.pb");
	{
		static Perftools__Profiles__Mapping *two[2];

		two[0] = &mapping[0];
		two[1] = &mapping[0];
		prof.mapping = two;
		prof.n_mapping = 2;
		emit("bad-duplicate-mapping-id.pb");
	}
	funcs[2].id = 0;
	emit("bad-zero-function-id.pb");
	funcs[2].id = 1;
	emit("bad-duplicate-function-id.pb");
	funcs[2].id = 1000000;	/* sparse ids: the bisection path */
	lines[3].function_id = 1000000;
	locs[2].id = 5000000;
	s_locs[0][1] = s_locs[1][1] = s_locs[2][2] = 5000000;
	emit("valid-sparse-ids.pb");
	funcs[1].id = 1000000;
	funcs[2].id = 1000000;
	lines[3].function_id = 1000000;
	emit("bad-duplicate-sparse-function-id.pb");
	locs[0].id = 0;
	emit("bad-zero-location-id.pb");
	locs[2].id = 2;
	emit("bad-duplicate-location-id.pb");

	/* references */
	lines[0].function_id = 0;
	emit("bad-line-function-zero.pb");
	lines[3].function_id = 42;
	emit("bad-line-unknown-function.pb");
	s_locs[1][0] = 9;
	emit("bad-sample-unknown-location.pb");
	s_locs[1][0] = 0;
	emit("bad-sample-location-zero.pb");

	/* values */
	samples[1].n_value = 1;
	emit("bad-sample-value-count.pb");
	prof.n_sample_type = 0;
	emit("bad-samples-without-sample-types.pb");

	/* concatenated profiles: both have time_nanos */
	{
		uint8_t    *both = malloc(2 * len);

		memcpy(both, raw, len);
		memcpy(both + len, raw, len);
		write_file("bad-concatenated.pb", both, 2 * len);
		gz = gzip_bytes(both, 2 * len, &gzlen);
		write_file("bad-concatenated.pb.gz", gz, gzlen);
		free(both);
		free(gz);
	}

	/* broken encodings */
	write_file("bad-truncated-protobuf.pb", raw, len / 2);
	gz = gzip_bytes(raw, len, &gzlen);
	write_file("bad-truncated-gzip.pb.gz", gz, gzlen - 9);
	gz[gzlen - 6] ^= 0x55;		/* the CRC32 in the trailer */
	write_file("bad-gzip-crc.pb.gz", gz, gzlen);
	gz[gzlen - 6] ^= 0x55;
	{
		uint8_t    *tail = malloc(gzlen + 4);

		memcpy(tail, gz, gzlen);
		memcpy(tail + gzlen, "junk", 4);
		write_file("bad-gzip-trailing-garbage.pb.gz", tail, gzlen + 4);
		free(tail);
	}
	free(gz);
	{
		static const uint8_t wt[] = {0x32, 0x00, 0x0b, 0x00};	/* field 1, wire type 3 */

		write_file("bad-group-wire-type.pb", wt, sizeof(wt));
	}
	{
		static const uint8_t varint[] = {0x32, 0x00, 0x48, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0x01};

		write_file("bad-overlong-varint.pb", varint, sizeof(varint));
	}
	{
		/* field 2 (sample, a message) sent with wire type 0 */
		static const uint8_t w2[] = {0x32, 0x00, 0x10, 0x05};

		write_file("bad-message-as-varint.pb", w2, sizeof(w2));
	}
	{
		/* A gzip bomb: 300 MiB of zero bytes (over the 256MB default). */
		size_t		n = 300u << 20;
		uint8_t    *zeros = calloc(1, n);

		gz = gzip_bytes(zeros, n, &gzlen);
		write_file("bad-gzip-bomb-300mb.pb.gz", gz, gzlen);
		free(zeros);
		free(gz);
	}
	{
		/* Random bytes (fixed seed) */
		uint8_t		rnd[4096];
		unsigned	x = 12345;

		for (size_t i = 0; i < sizeof(rnd); i++)
		{
			x = x * 1103515245u + 12345u;
			rnd[i] = (uint8_t) (x >> 16);
		}
		write_file("bad-random-bytes.pb", rnd, sizeof(rnd));
		rnd[0] = 0x1f;
		rnd[1] = 0x8b;
		write_file("bad-random-after-gzip-magic.pb.gz", rnd, sizeof(rnd));
	}
	write_file("bad-empty.pb", (const uint8_t *) "", 0);
	free(raw);
	return 0;
}
