/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  What Go's github.com/google/pprof/profile checks after decoding
 *	  (postDecode) and in CheckValid, so that a profile profefe accepts is
 *	  one `go tool pprof` accepts and vice versa; and the id maps the rest
 *	  of the engine looks objects up with.
 *
 * src/engine/validate.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "profile.h"

/* ----------------------------------------------------------------------
 * id maps
 * ---------------------------------------------------------------------- */

typedef struct IdPair
{
	uint64_t	id;
	uint32_t	idx;
} IdPair;

static int
idpair_cmp(const void *a, const void *b, void *arg)
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
		map->dense = pprof_alloc0_array(env, map->ndense, sizeof(uint32_t));
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
		IdPair	   *pairs = pprof_alloc_array(env, n, sizeof(IdPair));

		for (size_t i = 0; i < n; i++)
		{
			pairs[i].id = get_id(objs, i);
			pairs[i].idx = (uint32_t) i;
		}
		pprof_tick(env);
		pprof_sort(pairs, n, sizeof(IdPair), idpair_cmp, NULL);
		map->sorted_ids = pprof_alloc_array(env, n, sizeof(uint64_t));
		map->sorted_idx = pprof_alloc_array(env, n, sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
		{
			if (i > 0 && pairs[i].id == pairs[i - 1].id)
			{
				*dup = pairs[i].id;
				pprof_free(env, pairs);
				return false;
			}
			map->sorted_ids[i] = pairs[i].id;
			map->sorted_idx[i] = pairs[i].idx;
		}
		pprof_free(env, pairs);
		return true;
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
			return pprof_error(err, PPROF_MALFORMED, \
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
		return pprof_error(err, PPROF_MALFORMED,
						 "The string table is empty; its first entry must be the empty string.");
	if (prof->strings[0].len != 0)
		return pprof_error(err, PPROF_MALFORMED,
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
			return pprof_error(err, PPROF_MALFORMED, "Mapping %zu has the reserved id 0.", i);
		CHECK_STR(m->filename, "the file name of mapping %" PRIu64, m->id);
		CHECK_STR(m->build_id, "the build id of mapping %" PRIu64, m->id);
	}
	if (!idmap_build(env, &prof->mapping_map, prof->n_mapping, mapping_id, prof->mappings, &dup))
		return pprof_error(err, PPROF_MALFORMED,
						 "Mapping id %" PRIu64 " is used more than once.", dup);

	/* Functions. */
	for (size_t i = 0; i < prof->n_function; i++)
	{
		const PprofFunction *f = &prof->functions[i];

		if (f->id == 0)
			return pprof_error(err, PPROF_MALFORMED, "Function %zu has the reserved id 0.", i);
		CHECK_STR(f->name, "the name of function %" PRIu64, f->id);
		CHECK_STR(f->system_name, "the system name of function %" PRIu64, f->id);
		CHECK_STR(f->filename, "the file name of function %" PRIu64, f->id);
	}
	if (!idmap_build(env, &prof->function_map, prof->n_function, function_id, prof->functions, &dup))
		return pprof_error(err, PPROF_MALFORMED,
						 "Function id %" PRIu64 " is used more than once.", dup);
	pprof_tick(env);

	/* Locations: an unknown mapping id means "no mapping", as in Go. */
	for (size_t i = 0; i < prof->n_location; i++)
	{
		const PprofLocation *l = &prof->locations[i];

		if (l->id == 0)
			return pprof_error(err, PPROF_MALFORMED, "Location %zu has the reserved id 0.", i);
		for (size_t j = 0; j < l->n_line; j++)
		{
			uint64_t	fid = prof->lines[l->line_start + j].function_id;

			if (fid == 0 || pprof_idmap_find(&prof->function_map, fid) < 0)
				return pprof_error(err, PPROF_MALFORMED,
								 "Line %zu of location %" PRIu64 " refers to function %" PRIu64 ", which does not exist.",
								 j, l->id, fid);
		}
	}
	if (!idmap_build(env, &prof->location_map, prof->n_location, location_id, prof->locations, &dup))
		return pprof_error(err, PPROF_MALFORMED,
						 "Location id %" PRIu64 " is used more than once.", dup);
	pprof_tick(env);

	/* Samples. */
	if (prof->n_sample > 0 && prof->n_sample_type == 0)
		return pprof_error(err, PPROF_MALFORMED,
						 "The profile has %zu samples but no sample types.", prof->n_sample);
	for (size_t i = 0; i < prof->n_sample; i++)
	{
		const PprofSample *s = &prof->samples[i];

		if ((i & 0xffff) == 0xffff)
			pprof_tick(env);
		if (s->n_value != prof->n_sample_type)
			return pprof_error(err, PPROF_MALFORMED,
							 "Sample %zu has %u values, but the profile has %zu sample types.",
							 i, s->n_value, prof->n_sample_type);
		for (size_t j = 0; j < s->n_loc; j++)
		{
			uint64_t	lid = prof->location_ids[s->loc_start + j];

			if (pprof_idmap_find(&prof->location_map, lid) < 0)
				return pprof_error(err, PPROF_MALFORMED,
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
