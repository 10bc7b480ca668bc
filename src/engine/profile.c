/*-------------------------------------------------------------------------
 *
 * profile.c
 *	  Decoding a profile from the bytes a client sent (gzip or raw
 *	  protobuf), and the lookups the rest of the engine makes in one.
 *	  Legacy text profile formats, which Go's Parse also tries, are not
 *	  accepted.
 *
 * src/engine/profile.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"
#include "profile.h"

PprofStatus
pprof_decode(const PprofEnv *env, const uint8_t *data, size_t len,
			 PprofProfile *out, PprofError *err)
{
	const uint8_t *raw = data;
	size_t		rawlen = len;
	bool		whole = false;
	PprofStatus st;

	memset(out, 0, sizeof(*out));
	err->status = PPROF_OK;
	err->detail[0] = '\0';

	if (len == 0)
		return pprof_error(err, PPROF_MALFORMED, "The input is empty.");
	if (pprof_is_gzip(data, len))
	{
		uint8_t    *buf;

		st = pprof_gunzip_ex(env, data, len, &buf, &rawlen, &whole, err);
		if (st != PPROF_OK)
			return st;
		raw = buf;
		if (rawlen == 0)
			return pprof_error(err, PPROF_MALFORMED, "The input is empty once decompressed.");
	}
	else if (len > env->max_size)
		return pprof_error(err, PPROF_TOO_LARGE,
						 "The profile is larger than the limit of %zu bytes.", env->max_size);

	pprof_tick(env);
	st = pprof_parse_protobuf(env, raw, rawlen, out, err);
	if (st != PPROF_OK)
		return st;
	out->gzip_whole = whole;
	pprof_tick(env);
	return pprof_validate(env, out, err);
}

int
pprof_sample_index(const PprofProfile *p, const char *name)
{
	size_t		n = p->n_sample_type;

	if (name == NULL)
	{
		/* the default is named by string: an index to an empty one names none */
		PprofStr	d = pprof_str(p, p->default_sample_type);

		for (size_t i = 0; d.len > 0 && i < n; i++)
			if (pprof_str_eq(pprof_str(p, p->sample_types[i].type), d))
				return (int) i;
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

/* Bisection over the sorted ids of a sparse map. */
int64_t
pprof_idmap_find_sorted(const PprofIdMap *map, uint64_t id)
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

void
pprof_sample_totals(const PprofProfile *p, int64_t *totals, bool *overflowed)
{
	for (size_t t = 0; t < p->n_sample_type; t++)
	{
		totals[t] = 0;
		overflowed[t] = false;
	}
	for (size_t s = 0; s < p->n_sample; s++)
	{
		const int64_t *v = pprof_sample_values(p, s);

		for (size_t t = 0; t < p->n_sample_type; t++)
			if (!overflowed[t] && __builtin_add_overflow(totals[t], v[t], &totals[t]))
			{
				overflowed[t] = true;
				totals[t] = 0;
			}
	}
}

/* "type/unit, ..." of a profile's sample types, cut to fit. */
static void
describe_sample_types(const PprofProfile *p, char *out, size_t outlen)
{
	size_t		n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->n_sample_type && n + 1 < outlen; i++)
	{
		PprofStr	t = pprof_str(p, p->sample_types[i].type),
					u = pprof_str(p, p->sample_types[i].unit);
		int			w = snprintf(out + n, outlen - n, "%s%.*s/%.*s", i ? ", " : "",
								 (int) (t.len > 40 ? 40 : t.len), (const char *) t.data,
								 (int) (u.len > 40 ? 40 : u.len), (const char *) u.data);

		if (w < 0)
			break;
		n += (size_t) w;
	}
}

PprofStatus
pprof_same_types(const PprofProfile *a, const PprofProfile *b, PprofError *err)
{
	bool		ok = a->n_sample_type == b->n_sample_type &&
		pprof_str_eq(pprof_str(a, a->period_type.type), pprof_str(b, b->period_type.type)) &&
		pprof_str_eq(pprof_str(a, a->period_type.unit), pprof_str(b, b->period_type.unit));

	for (size_t i = 0; ok && i < a->n_sample_type; i++)
		ok = pprof_str_eq(pprof_str(a, a->sample_types[i].type), pprof_str(b, b->sample_types[i].type)) &&
			pprof_str_eq(pprof_str(a, a->sample_types[i].unit), pprof_str(b, b->sample_types[i].unit));
	if (!ok)
	{
		char		da[200],
					db[200];
		PprofStr	at = pprof_str(a, a->period_type.type),
					bt = pprof_str(b, b->period_type.type);

		describe_sample_types(a, da, sizeof(da));
		describe_sample_types(b, db, sizeof(db));
		return pprof_error(err, PPROF_INCOMPATIBLE, "Sample types %s (period %.*s) and %s (period %.*s).",
						   da, (int) (at.len > 40 ? 40 : at.len), (const char *) at.data,
						   db, (int) (bt.len > 40 ? 40 : bt.len), (const char *) bt.data);
	}
	return PPROF_OK;
}
