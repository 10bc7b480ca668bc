/*-------------------------------------------------------------------------
 *
 * profile.h
 *	  A decoded pprof profile, and decoding one: protobuf wire format
 *	  (decode.c), the checks Go's profile package makes (validate.c), and
 *	  what the rest of the engine asks of a profile (profile.c).
 *
 * A decoded profile is a flat, read-only model (PprofProfile): arrays of
 * plain structs whose nested lists (a sample's locations, values and
 * labels; a location's lines) are ranges into shared arrays, and whose
 * strings point into the protobuf bytes. The decoder is ours, not
 * protobuf-c's: docs/decisions.md says why (speed, and Go's decoding rules).
 *
 * src/engine/profile.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_PROFILE_H
#define PPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "env.h"

/* ---- the decoded model; string fields are string-table indexes ---- */

typedef struct PprofStr
{
	const uint8_t *data;
	size_t		len;
} PprofStr;

typedef struct PprofValueType
{
	int64_t		type;
	int64_t		unit;
} PprofValueType;

typedef struct PprofLabel
{
	int64_t		key;
	int64_t		str;
	int64_t		num;
	int64_t		num_unit;
} PprofLabel;

typedef struct PprofSample
{
	uint32_t	loc_start;		/* into location_ids, leaf first */
	uint32_t	n_loc;
	uint32_t	value_start;	/* into values */
	uint32_t	n_value;
	uint32_t	label_start;	/* into labels */
	uint32_t	n_label;
} PprofSample;

typedef struct PprofMapping
{
	uint64_t	id;
	uint64_t	memory_start;
	uint64_t	memory_limit;
	uint64_t	file_offset;
	int64_t		filename;
	int64_t		build_id;
	bool		has_functions;
	bool		has_filenames;
	bool		has_line_numbers;
	bool		has_inline_frames;
} PprofMapping;

typedef struct PprofLine
{
	uint64_t	function_id;
	int64_t		line;
	int64_t		column;
} PprofLine;

typedef struct PprofLocation
{
	uint64_t	id;
	uint64_t	mapping_id;		/* 0, or an id that may not exist (= none) */
	uint64_t	address;
	uint32_t	line_start;		/* into lines; line[0] is the innermost */
	uint32_t	n_line;
	bool		is_folded;
} PprofLocation;

typedef struct PprofFunction
{
	uint64_t	id;
	int64_t		name;
	int64_t		system_name;
	int64_t		filename;
	int64_t		start_line;
} PprofFunction;

/*
 * Maps object ids (mapping, location, function) to their index in the
 * model's arrays. Dense when ids are small (the common 1..n case), else a
 * sorted array searched by bisection.
 */
typedef struct PprofIdMap
{
	size_t		n;				/* number of objects */
	uint32_t   *dense;			/* dense[id] = index + 1, or 0; size ndense */
	uint64_t	ndense;
	uint64_t   *sorted_ids;		/* used when dense == NULL */
	uint32_t   *sorted_idx;
} PprofIdMap;

typedef struct PprofProfile
{
	PprofValueType *sample_types;
	size_t		n_sample_type;
	PprofSample *samples;
	size_t		n_sample;
	PprofMapping *mappings;
	size_t		n_mapping;
	PprofLocation *locations;
	size_t		n_location;
	PprofFunction *functions;
	size_t		n_function;
	PprofStr   *strings;
	size_t		n_string;
	int64_t    *comments;
	size_t		n_comment;

	/* shared arrays the ranges above point into */
	uint64_t   *location_ids;
	size_t		n_location_ids;
	int64_t    *values;
	size_t		n_values;
	PprofLabel *labels;
	size_t		n_labels;
	PprofLine  *lines;
	size_t		n_lines;

	int64_t		drop_frames;
	int64_t		keep_frames;
	int64_t		time_nanos;
	int64_t		duration_nanos;
	PprofValueType period_type;
	int64_t		period;
	int64_t		default_sample_type;
	int64_t		doc_url;

	/* built by validation */
	PprofIdMap	mapping_map;
	PprofIdMap	location_map;
	PprofIdMap	function_map;

	/* the uncompressed protobuf the strings point into */
	const uint8_t *raw;
	size_t		raw_size;

	/*
	 * pprof_decode's input was one whole gzip member, its CRC-32 and size
	 * checked, nothing after it: the store may keep those bytes as they are.
	 */
	bool		gzip_whole;
} PprofProfile;

/* ---- decoding ---- */

/*
 * Parses uncompressed protobuf into the model, following the wire rules of
 * Go's profile package decoder (decode.c). No validation.
 */
extern PprofStatus pprof_parse_protobuf(const PprofEnv *env, const uint8_t *raw,
										size_t len, PprofProfile *out,
										PprofError *err);

/*
 * Checks everything Go's postDecode and CheckValid check, and builds the id
 * maps.
 */
extern PprofStatus pprof_validate(const PprofEnv *env, PprofProfile *prof,
								  PprofError *err);

/*
 * Parses gzip or raw protobuf bytes (gzip.h) and validates them, with
 * env->max_size capping the decompressed size. On success *out is filled
 * in; out->raw is the uncompressed protobuf.
 */
extern PprofStatus pprof_decode(const PprofEnv *env, const uint8_t *data, size_t len,
								PprofProfile *out, PprofError *err);

extern int64_t pprof_idmap_find_sorted(const PprofIdMap *map, uint64_t id);

/* Looks up an id; returns the index or -1 when absent. */
static inline int64_t
pprof_idmap_find(const PprofIdMap *map, uint64_t id)
{
	if (map->dense)
		return id < map->ndense ? (int64_t) map->dense[id] - 1 : -1;
	return pprof_idmap_find_sorted(map, id);
}

/* string_table[idx]; idx must have been validated */
static inline PprofStr
pprof_str(const PprofProfile *p, int64_t idx)
{
	return p->strings[idx];
}

/* Byte-wise comparison, as Go compares strings. */
static inline int
pprof_str_cmp(PprofStr a, PprofStr b)
{
	size_t		n = a.len < b.len ? a.len : b.len;
	int			c = n ? memcmp(a.data, b.data, n) : 0;

	if (c != 0)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

static inline bool
pprof_str_eq(PprofStr a, PprofStr b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* Does s hold exactly the NUL-terminated string c? */
static inline bool
pprof_str_is(PprofStr s, const char *c)
{
	size_t		n = strlen(c);

	return s.len == n && (n == 0 || memcmp(s.data, c, n) == 0);
}

static inline PprofStr
pprof_str_of(const char *c)
{
	PprofStr	s = {(const uint8_t *) c, strlen(c)};

	return s;
}

/* Location index of sample s's j-th location (validated profile). */
static inline uint32_t
pprof_sample_loc(const PprofProfile *p, size_t s, size_t j)
{
	return (uint32_t) pprof_idmap_find(&p->location_map,
									   p->location_ids[p->samples[s].loc_start + j]);
}

/* The function of a line (validated profile). */
static inline const PprofFunction *
pprof_line_function(const PprofProfile *p, const PprofLine *ln)
{
	return &p->functions[pprof_idmap_find(&p->function_map, ln->function_id)];
}

/* The values of sample i. */
static inline const int64_t *
pprof_sample_values(const PprofProfile *p, size_t i)
{
	return p->values + p->samples[i].value_start;
}

/*
 * Resolves a sample type name the way pprof's -sample_index does: NULL
 * means the default (default_sample_type if it names a type, else the last
 * one); a decimal number is an index; "inuse_X" also matches type "X".
 * Returns -1 when nothing matches.
 */
extern int	pprof_sample_index(const PprofProfile *p, const char *name);

/*
 * The sum of each sample type's values into totals[n_sample_type];
 * overflowed[i] is set where that sum does not fit in 64 bits (totals[i]
 * is then 0).
 */
extern void pprof_sample_totals(const PprofProfile *p, int64_t *totals, bool *overflowed);

/*
 * PPROF_OK when two profiles have the same sample types (names and units,
 * in order) and period type, as merging and comparing need; else
 * PPROF_INCOMPATIBLE with both described.
 */
extern PprofStatus pprof_same_types(const PprofProfile *a, const PprofProfile *b, PprofError *err);

#endif							/* PPROF_PROFILE_H */
