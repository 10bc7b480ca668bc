/*-------------------------------------------------------------------------
 *
 * merger.h
 *	  The inside of a merge state, shared by the files that make and read
 *	  it: merge.c (adding profiles, Go's merge.go), compact.c (what the
 *	  merged profile keeps, Go's Compact) and encode.c (writing it as
 *	  protobuf, Go's encode.go). Not for use outside the engine: merge.h is
 *	  the interface.
 *
 * Every object is deduplicated by pprof's keys, compared as integers:
 * strings are interned into the merger's own table first, so a string id
 * stands for its bytes (id 0 is ""), never for a position in some input's
 * string table.
 *
 * src/engine/merger.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_MERGER_H
#define PPROF_MERGER_H

#include "merge.h"

typedef struct MMapping
{
	uint64_t	start,
				limit,
				offset;
	uint32_t	file,			/* string ids */
				build_id;
	uint8_t		flags;			/* has_functions .. has_inline_frames, bits 0-3 */
} MMapping;

typedef struct MFunction
{
	int64_t		start_line;
	uint32_t	name,			/* string ids */
				system_name,
				filename;
} MFunction;

typedef struct MLine
{
	uint32_t	function;		/* merged function index */
	int64_t		line;
	int64_t		column;
} MLine;

typedef struct MLocation
{
	uint64_t	address;		/* absolute, in the merged mapping's placement */
	uint32_t	mapping;		/* merged index + 1, 0 = none */
	uint32_t	line_start;		/* into lines */
	uint32_t	n_line;
	bool		is_folded;
} MLocation;

/*
 * A sample label. Whether it is a string or a numeric label is its own
 * field: as in Go, a label whose string index is not 0 is a string label
 * even when that index points at another empty string.
 */
typedef struct MLabel
{
	uint32_t	key;			/* string id */
	bool		is_str;
	uint32_t	str;			/* string labels: the value's string id */
	uint32_t	unit;			/* numeric labels: the unit's string id, 0 = none */
	int64_t		num;			/* numeric labels: the value */
} MLabel;

static inline bool
mlabel_eq(const MLabel *a, const MLabel *b)
{
	return a->key == b->key && a->is_str == b->is_str && a->str == b->str &&
		a->unit == b->unit && a->num == b->num;
}

typedef struct MSample
{
	uint32_t	loc_start;		/* into sample_locs, leaf first */
	uint32_t	n_loc;
	uint32_t	label_start;	/* into labels */
	uint32_t	n_label;
} MSample;

/* Open-addressing table of object indexes, keyed by caller-computed hashes. */
typedef struct HTab
{
	uint64_t   *hashes;
	uint32_t   *ids;			/* index + 1; 0 = empty */
	size_t		mask;
	size_t		used;
} HTab;

#define MARRAY(type, name) type *name; size_t n_##name; size_t cap_##name

struct PprofMerger
{
	PprofEnv	env;
	uint64_t	count;			/* profiles added */

	/* header */
	bool		have_header;
	uint32_t   *sample_types;	/* 2 string ids per type */
	size_t		n_types;
	uint32_t	period_type[2];
	int64_t		period;
	int64_t		time_nanos;
	int64_t		duration_nanos;
	uint32_t	drop_frames,
				keep_frames,
				default_sample_type,
				doc_url;
	MARRAY(uint32_t, comments);

	/* strings: bytes in a pool, (offset, length) per id */
	MARRAY(char, pool);
	MARRAY(uint64_t, str_off);
	MARRAY(uint32_t, str_len);
	HTab		strings;

	MARRAY(MMapping, mappings);
	HTab		mapping_tab;
	MARRAY(MFunction, functions);
	HTab		function_tab;
	MARRAY(MLocation, locations);
	MARRAY(MLine, lines);
	HTab		location_tab;
	MARRAY(MSample, samples);
	MARRAY(uint32_t, sample_locs);
	MARRAY(MLabel, labels);
	MARRAY(int64_t, values);	/* n_types per sample */
	HTab		sample_tab;
	size_t		bytes;			/* held by the state */
};

/* The bytes of string id `id` (the pool is not allocated while every string is empty). */
static inline PprofStr
merger_str(const PprofMerger *m, uint32_t id)
{
	PprofStr	s = {(const uint8_t *) "", m->str_len[id]};

	if (s.len > 0)
		s.data = (const uint8_t *) m->pool + m->str_off[id];
	return s;
}

/*
 * What the merged profile keeps, as Go's Merge leaves it (compact.c):
 * samples whose values sum to zero are dropped, and with them whatever
 * only they referenced; what stays is numbered in first-seen order.
 */
typedef struct Compaction
{
	int64_t    *values;			/* per merged sample, n_types each, divided */
	bool	   *keep;			/* per merged sample */
	uint32_t   *loc_new;		/* merged index -> output id (1-based), 0 = dropped */
	uint32_t   *fn_new;
	uint32_t   *map_new;
	uint32_t   *loc_order;		/* output id - 1 -> merged index */
	uint32_t   *fn_order;
	uint32_t   *map_order;
	size_t		n_loc,
				n_fn,
				n_map;
} Compaction;

extern void pprof_merger_compact(const PprofMerger *m, const PprofEnv *env, int64_t divisor,
								 Compaction *out);

#endif							/* PPROF_MERGER_H */
