/*-------------------------------------------------------------------------
 *
 * folded.c
 *	  Collapsed stacks ("a;b;c 10" per line) to a pprof profile: frame
 *	  names are deduplicated into functions (one location each, as pprof
 *	  does for symbolized frames without addresses), each line becomes a
 *	  sample, and the protobuf is written directly.
 *
 * src/engine/folded.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "buf.h"
#include "folded.h"
#include "hash.h"
#include "pbwrite.h"

typedef struct Name
{
	const char *p;
	size_t		len;
} Name;

/* Frame name -> function id (its index + 1), open addressing. */
typedef struct Names
{
	Name	   *names;
	size_t		n,
				cap;
	uint32_t   *slots;			/* 0 empty, else a function id */
	size_t		nslots;			/* a power of two */
} Names;

static void
names_rehash(const PprofEnv *env, Names *t)
{
	size_t		nslots = t->nslots ? t->nslots * 2 : 1024;
	uint32_t   *slots = pprof_alloc0_array(env, nslots, sizeof(uint32_t));

	for (size_t k = 0; k < t->n; k++)
	{
		size_t		i = pprof_hash_bytes((const uint8_t *) t->names[k].p, t->names[k].len) & (nslots - 1);

		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = (uint32_t) (k + 1);
	}
	pprof_free(env, t->slots);
	t->slots = slots;
	t->nslots = nslots;
}

static uint32_t
name_id(const PprofEnv *env, Names *t, const char *p, size_t len)
{
	size_t		i;

	if ((t->n + 1) * 2 > t->nslots)
		names_rehash(env, t);
	i = pprof_hash_bytes((const uint8_t *) p, len) & (t->nslots - 1);
	while (t->slots[i])
	{
		const Name *nm = &t->names[t->slots[i] - 1];

		if (nm->len == len && memcmp(nm->p, p, len) == 0)
			return t->slots[i];
		i = (i + 1) & (t->nslots - 1);
	}
	if (t->n == t->cap)
		t->names = pprof_grow(env, t->names, t->n, &t->cap, 1, sizeof(Name));
	t->names[t->n].p = p;
	t->names[t->n].len = len;
	t->slots[i] = (uint32_t) ++t->n;
	return t->slots[i];
}

typedef struct Samples
{
	uint32_t   *locs;			/* every sample's function ids, leaf first */
	size_t		nlocs,
				locs_cap;
	size_t	   *first;			/* per sample: where its ids start in locs */
	int64_t    *count;
	size_t		n,
				cap,
				count_cap;
} Samples;

/* Parses a non-negative decimal integer; false if it is not one or overflows. */
static bool
parse_count(const char *p, size_t len, int64_t *out)
{
	int64_t		v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (p[i] < '0' || p[i] > '9' || v > (INT64_MAX - (p[i] - '0')) / 10)
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

/* One line's stack into s (leaf first); false on an empty frame. */
static bool
add_stack(const PprofEnv *env, Names *names, Samples *s, const char *p, size_t len, int64_t count)
{
	size_t		start = s->nlocs,
				f = 0;

	if (s->n == s->cap)
		s->first = pprof_grow(env, s->first, s->n, &s->cap, 1, sizeof(size_t));
	if (s->n == s->count_cap)
		s->count = pprof_grow(env, s->count, s->n, &s->count_cap, 1, sizeof(int64_t));
	for (size_t i = 0; i <= len; i++)
	{
		if (i < len && p[i] != ';')
			continue;
		if (i == f)
			return false;
		if (s->nlocs == s->locs_cap)
			s->locs = pprof_grow(env, s->locs, s->nlocs, &s->locs_cap, 1, sizeof(uint32_t));
		s->locs[s->nlocs++] = name_id(env, names, p + f, i - f);
		f = i + 1;
	}
	/* root first in the text, leaf first in pprof */
	for (size_t a = start, b = s->nlocs - 1; a < b; a++, b--)
	{
		uint32_t	t = s->locs[a];

		s->locs[a] = s->locs[b];
		s->locs[b] = t;
	}
	s->first[s->n] = start;
	s->count[s->n] = count;
	s->n++;
	return true;
}

static size_t
value_type_size(uint64_t type, uint64_t unit)
{
	return field_size(1, type) + field_size(2, unit);
}

static void
put_value_type(PprofBuf *w, uint32_t field, uint64_t type, uint64_t unit)
{
	put_header(w, field, value_type_size(type, unit));
	put_field(w, 1, type);
	put_field(w, 2, unit);
}

static void
put_string(PprofBuf *w, const char *p, size_t len)
{
	put_header(w, 6, len);
	pprof_buf_append(w, p, len);
}

PprofStatus
pprof_from_folded(const PprofEnv *env, const char *text, size_t len, const PprofFoldedSpec *spec,
				  uint8_t **out, size_t *outlen, PprofError *err)
{
	Names		names = {0};
	Samples		s = {0};
	PprofBuf	w;
	size_t		lineno = 0,
				base;
	int			nt = spec->ntypes;

	if (nt < 1 || nt > PPROF_FOLDED_MAX_TYPES)
		return pprof_error(err, PPROF_INTERNAL, "A collapsed-stack profile needs 1 to %d sample types.",
						   PPROF_FOLDED_MAX_TYPES);
	for (size_t pos = 0; pos < len;)
	{
		const char *line = text + pos;
		size_t		n = 0,
					end;
		int64_t		count = 1;

		while (pos + n < len && text[pos + n] != '\n')
			n++;
		pos += n + 1;
		lineno++;
		if ((lineno & 1023) == 0)
			pprof_tick(env);
		end = n;
		while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == ' ' || line[end - 1] == '\t'))
			end--;
		if (end == 0)
			continue;
		if (!spec->lines)
		{
			size_t		sp = end;

			while (sp > 0 && line[sp - 1] != ' ' && line[sp - 1] != '\t')
				sp--;
			if (sp == 0 || !parse_count(line + sp, end - sp, &count))
				return pprof_error(err, PPROF_MALFORMED,
								   "Line %zu is not \"frame;frame;... COUNT\": %s.", lineno,
								   sp == 0 ? "it has no count" : "its count is not a non-negative integer");
			end = sp;
			while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
				end--;
		}
		for (int k = 0; k < nt; k++)
			if (spec->scale[k] < 0 || (spec->scale[k] > 0 && count > INT64_MAX / spec->scale[k]))
				return pprof_error(err, PPROF_OVERFLOW, "Line %zu: its count %lld times %lld does not fit in 64 bits.",
								   lineno, (long long) count, (long long) spec->scale[k]);
		if (end == 0 || !add_stack(env, &names, &s, line, end, count))
			return pprof_error(err, PPROF_MALFORMED, "Line %zu has an empty frame name.", lineno);
	}
	if (s.n == 0)
		return pprof_error(err, PPROF_MALFORMED, "There are no stacks: every line was empty.");

	/* strings: "", each type and unit, the period's, then the frame names */
	base = 1 + 2 * (size_t) nt + (spec->period_type ? 2 : 0);
	pprof_buf_init(&w, env, 64 + s.nlocs * 2 + names.n * 16);
	for (int k = 0; k < nt; k++)
		put_value_type(&w, 1, 1 + 2 * (uint64_t) k, 2 + 2 * (uint64_t) k);
	for (size_t i = 0; i < s.n; i++)
	{
		size_t		nloc = (i + 1 < s.n ? s.first[i + 1] : s.nlocs) - s.first[i];
		size_t		ids = 0,
					vals = 0,
					total;

		for (size_t j = 0; j < nloc; j++)
			ids += varint_size(s.locs[s.first[i] + j]);
		for (int k = 0; k < nt; k++)
			vals += varint_size((uint64_t) (s.count[i] * spec->scale[k]));
		total = 1 + varint_size(ids) + ids + 1 + varint_size(vals) + vals;
		put_header(&w, 2, total);
		put_header(&w, 1, ids);
		for (size_t j = 0; j < nloc; j++)
			put_varint(&w, s.locs[s.first[i] + j]);
		put_header(&w, 2, vals);
		for (int k = 0; k < nt; k++)
			put_varint(&w, (uint64_t) (s.count[i] * spec->scale[k]));
		if ((i & 1023) == 0)
			pprof_tick(env);
	}
	for (size_t f = 1; f <= names.n; f++)
	{
		size_t		line_len = field_size(1, f);

		put_header(&w, 4, field_size(1, f) + 1 + varint_size(line_len) + line_len);
		put_field(&w, 1, f);
		put_header(&w, 4, line_len);
		put_field(&w, 1, f);
	}
	for (size_t f = 1; f <= names.n; f++)
	{
		uint64_t	si = base + f - 1;

		put_header(&w, 5, field_size(1, f) + field_size(2, si) + field_size(3, si));
		put_field(&w, 1, f);
		put_field(&w, 2, si);
		put_field(&w, 3, si);
	}
	put_string(&w, "", 0);
	for (int k = 0; k < nt; k++)
	{
		put_string(&w, spec->type[k], strlen(spec->type[k]));
		put_string(&w, spec->unit[k], strlen(spec->unit[k]));
	}
	if (spec->period_type)
	{
		put_string(&w, spec->period_type, strlen(spec->period_type));
		put_string(&w, spec->period_unit, strlen(spec->period_unit));
	}
	for (size_t f = 0; f < names.n; f++)
		put_string(&w, names.names[f].p, names.names[f].len);
	put_field(&w, 9, (uint64_t) spec->time_nanos);
	put_field(&w, 10, (uint64_t) spec->duration_nanos);
	if (spec->period_type)
		put_value_type(&w, 11, 1 + 2 * (uint64_t) nt, 2 + 2 * (uint64_t) nt);
	put_field(&w, 12, (uint64_t) spec->period);
	if (env->max_size > 0 && w.len > env->max_size)
		return pprof_error(err, PPROF_TOO_LARGE, "The profile made of the stacks is %zu bytes, more than the %zu allowed.",
						   w.len, env->max_size);
	*out = (uint8_t *) w.data;
	*outlen = w.len;
	pprof_free(env, names.names);
	pprof_free(env, names.slots);
	pprof_free(env, s.locs);
	pprof_free(env, s.first);
	pprof_free(env, s.count);
	return PPROF_OK;
}
