/*-------------------------------------------------------------------------
 *
 * pprof_codec.c
 *	  gzip and protobuf decoding, validation and encoding of pprof profiles.
 *
 * gzip goes through zlib on the caller's allocator; protobuf decoding is in
 * pprof_wire.c. Validation mirrors what Go's github.com/google/pprof/profile
 * does in Parse, postDecode and CheckValid, so that a profile we accept is
 * one `go tool pprof` accepts and vice versa. Legacy text profile formats,
 * which Go also tries, are not accepted.
 *
 * src/pprof_codec.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "profile.h"

/* Bytes inflated or deflated between two calls of the tick hook. */
#define PPROF_CHUNK (1024 * 1024)

static PprofStatus
set_error(PprofError *err, PprofStatus status, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

static PprofStatus
set_error(PprofError *err, PprofStatus status, const char *fmt,...)
{
	va_list		ap;

	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return status;
}

static inline void
tick(const PprofEnv *env)
{
	if (env->tick)
		env->tick(env->tick_arg);
}

static inline void *
env_alloc(const PprofEnv *env, size_t size)
{
	return env->alloc.alloc(env->alloc.allocator_data, size);
}

static inline void
env_free(const PprofEnv *env, void *p)
{
	if (p != NULL && env->alloc.free != NULL)
		env->alloc.free(env->alloc.allocator_data, p);
}

static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
	const PprofEnv *env = opaque;

	return env_alloc(env, (size_t) items * size);
}

static void
z_free(voidpf opaque, voidpf p)
{
	env_free((const PprofEnv *) opaque, p);
}

void *
pprof_grow(const PprofEnv *env, void *arr, size_t n, size_t *cap, size_t more, size_t elem)
{
	size_t		ncap;
	void	   *narr;

	if (n + more <= *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < n + more)
		ncap *= 2;
	narr = env_alloc(env, ncap * elem);
	if (n > 0)
		memcpy(narr, arr, n * elem);
	env_free(env, arr);
	*cap = ncap;
	return narr;
}

bool
pprof_is_gzip(const uint8_t *data, size_t len)
{
	return len >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

/* ----------------------------------------------------------------------
 * gzip
 * ---------------------------------------------------------------------- */

PprofStatus
pprof_gunzip(const PprofEnv *env, const uint8_t *in, size_t len,
			 uint8_t **out, size_t *outlen, PprofError *err)
{
	z_stream	zs;
	size_t		limit = env->max_size;
	size_t		cap;
	size_t		used = 0;
	uint8_t    *buf;
	int			rc;

	/*
	 * The buffer never exceeds limit + 1 bytes: filling that last byte is
	 * how we learn the output is too large without inflating any further.
	 * The gzip trailer's ISIZE (size mod 2^32 of the last member) is only a
	 * hint for the first allocation; it is never trusted beyond that.
	 */
	cap = len * 4;
	if (len >= 18)
	{
		const uint8_t *t = in + len - 4;
		size_t		isize = (size_t) t[0] | ((size_t) t[1] << 8) |
			((size_t) t[2] << 16) | ((size_t) t[3] << 24);

		if (isize > cap)
			cap = isize;
	}
	if (cap < 4096)
		cap = 4096;
	if (cap > limit)
		cap = limit;
	cap += 1;
	buf = env_alloc(env, cap);

	memset(&zs, 0, sizeof(zs));
	zs.zalloc = z_alloc;
	zs.zfree = z_free;
	zs.opaque = (voidpf) env;
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return set_error(err, PPROF_MALFORMED, "Could not initialise the gzip decoder.");

	zs.next_in = (Bytef *) in;
	zs.avail_in = len > UINT_MAX ? UINT_MAX : (uInt) len;

	for (;;)
	{
		size_t		room;
		size_t		before_in;

		tick(env);
		if (used == cap)
		{
			size_t		ncap;
			uint8_t    *nbuf;

			if (cap >= limit + 1)
			{
				inflateEnd(&zs);
				return set_error(err, PPROF_TOO_LARGE,
								 "The decompressed profile is larger than the limit of %zu bytes.",
								 limit);
			}
			ncap = cap > (limit + 1) / 2 ? limit + 1 : cap * 2;
			nbuf = env_alloc(env, ncap);
			memcpy(nbuf, buf, used);
			env_free(env, buf);
			buf = nbuf;
			cap = ncap;
		}
		room = cap - used;
		if (room > PPROF_CHUNK)
			room = PPROF_CHUNK;
		zs.next_out = buf + used;
		zs.avail_out = (uInt) room;
		before_in = zs.avail_in;
		rc = inflate(&zs, Z_NO_FLUSH);
		used += room - zs.avail_out;

		if (rc == Z_STREAM_END)
		{
			size_t		consumed = (size_t) (zs.next_in - in);

			if (consumed == len)
				break;
			/* Another gzip member follows, as Go's multistream reader allows. */
			if (!pprof_is_gzip(in + consumed, len - consumed))
			{
				inflateEnd(&zs);
				return set_error(err, PPROF_MALFORMED,
								 "The gzip stream is followed by %zu bytes that are not gzip data.",
								 len - consumed);
			}
			if (inflateReset(&zs) != Z_OK)
			{
				inflateEnd(&zs);
				return set_error(err, PPROF_MALFORMED, "Could not reset the gzip decoder.");
			}
			continue;
		}
		if (rc == Z_OK)
		{
			/* Refill the 32-bit input window when input remains. */
			if (zs.avail_in == 0)
			{
				size_t		consumed = (size_t) (zs.next_in - in);

				if (consumed == len)
				{
					inflateEnd(&zs);
					return set_error(err, PPROF_MALFORMED,
									 "The gzip stream is truncated after %zu bytes of compressed input.",
									 len);
				}
				zs.avail_in = len - consumed > UINT_MAX ? UINT_MAX : (uInt) (len - consumed);
			}
			continue;
		}
		if (rc == Z_BUF_ERROR && zs.avail_out > 0 && zs.avail_in == before_in)
		{
			/* No progress possible: the input ended mid-stream. */
			inflateEnd(&zs);
			return set_error(err, PPROF_MALFORMED,
							 "The gzip stream is truncated after %zu bytes of compressed input.",
							 len);
		}
		if (rc == Z_BUF_ERROR)
			continue;
		inflateEnd(&zs);
		return set_error(err, PPROF_MALFORMED, "The gzip data is corrupt: %s.",
						 zs.msg ? zs.msg : "unknown zlib error");
	}
	inflateEnd(&zs);
	if (used > limit)
		return set_error(err, PPROF_TOO_LARGE,
						 "The decompressed profile is larger than the limit of %zu bytes.",
						 limit);
	*out = buf;
	*outlen = used;
	return PPROF_OK;
}

PprofStatus
pprof_gzip(const PprofEnv *env, const uint8_t *in, size_t len, int level,
		   uint8_t **out, size_t *outlen, PprofError *err)
{
	z_stream	zs;
	size_t		cap;
	uint8_t    *buf;
	size_t		fed = 0;
	int			rc;

	memset(&zs, 0, sizeof(zs));
	zs.zalloc = z_alloc;
	zs.zfree = z_free;
	zs.opaque = (voidpf) env;
	if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8,
					 Z_DEFAULT_STRATEGY) != Z_OK)
		return set_error(err, PPROF_MALFORMED, "Could not initialise the gzip encoder.");

	cap = deflateBound(&zs, len) + 64;
	buf = env_alloc(env, cap);
	zs.next_out = buf;
	zs.avail_out = (uInt) cap;
	do
	{
		size_t		chunk = len - fed > PPROF_CHUNK ? PPROF_CHUNK : len - fed;

		tick(env);
		zs.next_in = (Bytef *) in + fed;
		zs.avail_in = (uInt) chunk;
		fed += chunk;
		rc = deflate(&zs, fed == len ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_ERROR || (fed < len && zs.avail_in != 0))
		{
			deflateEnd(&zs);
			return set_error(err, PPROF_MALFORMED, "Could not gzip the profile.");
		}
	} while (fed < len);
	if (rc != Z_STREAM_END)
	{
		deflateEnd(&zs);
		return set_error(err, PPROF_MALFORMED, "Could not gzip the profile.");
	}
	*out = buf;
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return PPROF_OK;
}

/* ----------------------------------------------------------------------
 * id maps
 * ---------------------------------------------------------------------- */

typedef struct IdPair
{
	uint64_t	id;
	uint32_t	idx;
} IdPair;

static int
idpair_cmp(const void *a, const void *b)
{
	uint64_t	x = ((const IdPair *) a)->id;
	uint64_t	y = ((const IdPair *) b)->id;

	return x < y ? -1 : x > y;
}

/*
 * Builds an id map over n objects whose ids are ids(objs, i). Returns the
 * first duplicate id via *dup (0 when none); a zero id is reported as a
 * duplicate of 0 by the caller's earlier check.
 */
static bool
idmap_build(const PprofEnv *env, PprofIdMap *map, size_t n,
			uint64_t (*get_id) (const void *objs, size_t i), const void *objs,
			uint64_t *dup)
{
	uint64_t	maxid = 0;

	memset(map, 0, sizeof(*map));
	map->n = n;
	*dup = 0;
	for (size_t i = 0; i < n; i++)
	{
		uint64_t	id = get_id(objs, i);

		if (id > maxid)
			maxid = id;
	}

	/* Dense when the ids are no sparser than four slots per object. */
	if (maxid <= (uint64_t) n * 4 + 64)
	{
		map->ndense = maxid + 1;
		map->dense = env_alloc(env, map->ndense * sizeof(uint32_t));
		memset(map->dense, 0, map->ndense * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
		{
			uint64_t	id = get_id(objs, i);

			if (map->dense[id] != 0)
			{
				*dup = id;
				return false;
			}
			map->dense[id] = (uint32_t) i + 1;
		}
		return true;
	}
	else
	{
		IdPair	   *pairs = env_alloc(env, n * sizeof(IdPair));

		for (size_t i = 0; i < n; i++)
		{
			pairs[i].id = get_id(objs, i);
			pairs[i].idx = (uint32_t) i;
		}
		tick(env);
		qsort(pairs, n, sizeof(IdPair), idpair_cmp);
		map->sorted_ids = env_alloc(env, n * sizeof(uint64_t));
		map->sorted_idx = env_alloc(env, n * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
		{
			if (i > 0 && pairs[i].id == pairs[i - 1].id)
			{
				*dup = pairs[i].id;
				env_free(env, pairs);
				return false;
			}
			map->sorted_ids[i] = pairs[i].id;
			map->sorted_idx[i] = pairs[i].idx;
		}
		env_free(env, pairs);
		return true;
	}
}

int64_t
pprof_idmap_find_sorted(const PprofIdMap *map, uint64_t id)
{
	{
		size_t		lo = 0,
					hi = map->n;

		while (lo < hi)
		{
			size_t		mid = lo + (hi - lo) / 2;

			if (map->sorted_ids[mid] < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < map->n && map->sorted_ids[lo] == id)
			return map->sorted_idx[lo];
		return -1;
	}
}

static uint64_t
mapping_id(const void *objs, size_t i)
{
	return ((const PprofMapping *) objs)[i].id;
}

static uint64_t
location_id(const void *objs, size_t i)
{
	return ((const PprofLocation *) objs)[i].id;
}

static uint64_t
function_id(const void *objs, size_t i)
{
	return ((const PprofFunction *) objs)[i].id;
}

/* ----------------------------------------------------------------------
 * validation
 * ---------------------------------------------------------------------- */

/* Checks one string index; the rest names the field for the error detail. */
#define CHECK_STR(idx, ...) \
	do { \
		int64_t _i = (idx); \
		if (_i < 0 || (uint64_t) _i >= nstr) \
		{ \
			char _what[160]; \
			snprintf(_what, sizeof(_what), __VA_ARGS__); \
			return set_error(err, PPROF_MALFORMED, \
							 "String index %" PRId64 " of %s is out of range: the string table has %zu entries.", \
							 _i, _what, nstr); \
		} \
	} while (0)

PprofStatus
pprof_validate(const PprofEnv *env, PprofProfile *prof, PprofError *err)
{
	size_t		nstr = prof->n_string;
	uint64_t	dup;

	if (nstr == 0)
		return set_error(err, PPROF_MALFORMED,
						 "The string table is empty; its first entry must be the empty string.");
	if (prof->strings[0].len != 0)
		return set_error(err, PPROF_MALFORMED,
						 "The first entry of the string table is not the empty string.");

	/* Header strings (postDecode). */
	for (size_t i = 0; i < prof->n_sample_type; i++)
	{
		CHECK_STR(prof->sample_types[i].type, "sample type %zu", i);
		CHECK_STR(prof->sample_types[i].unit, "the unit of sample type %zu", i);
	}
	CHECK_STR(prof->drop_frames, "drop_frames");
	CHECK_STR(prof->keep_frames, "keep_frames");
	CHECK_STR(prof->period_type.type, "the period type");
	CHECK_STR(prof->period_type.unit, "the period unit");
	for (size_t i = 0; i < prof->n_comment; i++)
		CHECK_STR(prof->comments[i], "comment %zu", i);
	CHECK_STR(prof->default_sample_type, "default_sample_type");
	CHECK_STR(prof->doc_url, "doc_url");

	/* Mappings. */
	for (size_t i = 0; i < prof->n_mapping; i++)
	{
		const PprofMapping *m = &prof->mappings[i];

		if (m->id == 0)
			return set_error(err, PPROF_MALFORMED, "Mapping %zu has the reserved id 0.", i);
		CHECK_STR(m->filename, "the file name of mapping %" PRIu64, m->id);
		CHECK_STR(m->build_id, "the build id of mapping %" PRIu64, m->id);
	}
	if (!idmap_build(env, &prof->mapping_map, prof->n_mapping, mapping_id, prof->mappings, &dup))
		return set_error(err, PPROF_MALFORMED,
						 "Mapping id %" PRIu64 " is used more than once.", dup);

	/* Functions. */
	for (size_t i = 0; i < prof->n_function; i++)
	{
		const PprofFunction *f = &prof->functions[i];

		if (f->id == 0)
			return set_error(err, PPROF_MALFORMED, "Function %zu has the reserved id 0.", i);
		CHECK_STR(f->name, "the name of function %" PRIu64, f->id);
		CHECK_STR(f->system_name, "the system name of function %" PRIu64, f->id);
		CHECK_STR(f->filename, "the file name of function %" PRIu64, f->id);
	}
	if (!idmap_build(env, &prof->function_map, prof->n_function, function_id, prof->functions, &dup))
		return set_error(err, PPROF_MALFORMED,
						 "Function id %" PRIu64 " is used more than once.", dup);
	tick(env);

	/* Locations: an unknown mapping id means "no mapping", as in Go. */
	for (size_t i = 0; i < prof->n_location; i++)
	{
		const PprofLocation *l = &prof->locations[i];

		if (l->id == 0)
			return set_error(err, PPROF_MALFORMED, "Location %zu has the reserved id 0.", i);
		for (size_t j = 0; j < l->n_line; j++)
		{
			uint64_t	fid = prof->lines[l->line_start + j].function_id;

			if (fid == 0 || pprof_idmap_find(&prof->function_map, fid) < 0)
				return set_error(err, PPROF_MALFORMED,
								 "Line %zu of location %" PRIu64 " refers to function %" PRIu64 ", which does not exist.",
								 j, l->id, fid);
		}
	}
	if (!idmap_build(env, &prof->location_map, prof->n_location, location_id, prof->locations, &dup))
		return set_error(err, PPROF_MALFORMED,
						 "Location id %" PRIu64 " is used more than once.", dup);
	tick(env);

	/* Samples. */
	if (prof->n_sample > 0 && prof->n_sample_type == 0)
		return set_error(err, PPROF_MALFORMED,
						 "The profile has %zu samples but no sample types.", prof->n_sample);
	for (size_t i = 0; i < prof->n_sample; i++)
	{
		const PprofSample *s = &prof->samples[i];

		if ((i & 0xffff) == 0xffff)
			tick(env);
		if (s->n_value != prof->n_sample_type)
			return set_error(err, PPROF_MALFORMED,
							 "Sample %zu has %u values, but the profile has %zu sample types.",
							 i, s->n_value, prof->n_sample_type);
		for (size_t j = 0; j < s->n_loc; j++)
		{
			uint64_t	lid = prof->location_ids[s->loc_start + j];

			if (pprof_idmap_find(&prof->location_map, lid) < 0)
				return set_error(err, PPROF_MALFORMED,
								 "Sample %zu refers to location %" PRIu64 ", which does not exist.",
								 i, lid);
		}
		for (size_t j = 0; j < s->n_label; j++)
		{
			const PprofLabel *l = &prof->labels[s->label_start + j];

			CHECK_STR(l->key, "the key of label %zu of sample %zu", j, i);
			if (l->str != 0)
				CHECK_STR(l->str, "the value of label %zu of sample %zu", j, i);
			else if (l->num_unit != 0)
				CHECK_STR(l->num_unit, "the unit of label %zu of sample %zu", j, i);
		}
	}
	return PPROF_OK;
}

PprofStatus
pprof_decode(const PprofEnv *env, const uint8_t *data, size_t len,
			 PprofProfile *out, PprofError *err)
{
	const uint8_t *raw = data;
	size_t		rawlen = len;
	PprofStatus st;

	memset(out, 0, sizeof(*out));
	err->status = PPROF_OK;
	err->detail[0] = '\0';

	if (len == 0)
		return set_error(err, PPROF_MALFORMED, "The input is empty.");
	if (pprof_is_gzip(data, len))
	{
		uint8_t    *buf;

		st = pprof_gunzip(env, data, len, &buf, &rawlen, err);
		if (st != PPROF_OK)
			return st;
		raw = buf;
		if (rawlen == 0)
			return set_error(err, PPROF_MALFORMED, "The input is empty once decompressed.");
	}
	else if (len > env->max_size)
		return set_error(err, PPROF_TOO_LARGE,
						 "The profile is larger than the limit of %zu bytes.", env->max_size);

	tick(env);
	st = pprof_parse_protobuf(env, raw, rawlen, out, err);
	if (st != PPROF_OK)
		return st;
	tick(env);
	return pprof_validate(env, out, err);
}

int
pprof_sample_index(const PprofProfile *p, const char *name)
{
	size_t		n = p->n_sample_type;

	if (name == NULL)
	{
		if (p->default_sample_type != 0)
		{
			PprofStr	d = pprof_str(p, p->default_sample_type);

			for (size_t i = 0; i < n; i++)
			{
				PprofStr	t = pprof_str(p, p->sample_types[i].type);

				if (t.len == d.len && memcmp(t.data, d.data, d.len) == 0)
					return (int) i;
			}
		}
		return (int) n - 1;
	}
	else
	{
		size_t		nlen = strlen(name);
		const char *noinuse = name;
		size_t		noinuse_len = nlen;
		char	   *endp;
		long		v;

		/* A plain decimal number is an index, as strconv.Atoi reads it. */
		if (nlen > 0 && nlen < 20 &&
			(name[0] == '-' || name[0] == '+' || (name[0] >= '0' && name[0] <= '9')))
		{
			v = strtol(name, &endp, 10);
			if (*endp == '\0' && endp != name &&
				!((name[0] == '-' || name[0] == '+') && nlen == 1))
				return (v >= 0 && (size_t) v < n) ? (int) v : -1;
		}
		if (strncmp(name, "inuse_", 6) == 0)
		{
			noinuse = name + 6;
			noinuse_len = nlen - 6;
		}
		for (size_t i = 0; i < n; i++)
		{
			PprofStr	t = pprof_str(p, p->sample_types[i].type);

			if ((t.len == nlen && memcmp(t.data, name, nlen) == 0) ||
				(t.len == noinuse_len && memcmp(t.data, noinuse, noinuse_len) == 0))
				return (int) i;
		}
		return -1;
	}
}
