/*-------------------------------------------------------------------------
 *
 * pprof_codec.h
 *	  Decode, validate and encode pprof profiles.
 *
 * Plain C: nothing here includes postgres.h, so the codec can be unit
 * tested, fuzzed and benchmarked outside the server. Every allocation goes
 * through the caller's ProtobufCAllocator (palloc inside the server, an
 * arena elsewhere), and long loops call the caller's tick hook, which is
 * where the server checks for interrupts.
 *
 * A decoded profile is a flat, read-only model (PprofProfile): arrays of
 * plain structs whose nested lists (a sample's locations, values and
 * labels; a location's lines) are ranges into shared arrays, and whose
 * strings point into the protobuf bytes. See docs/decisions.md for why the
 * decoder is ours and not protobuf-c's (which stays for encoding).
 *
 * src/pprof_codec.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_CODEC_H
#define PPROF_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/profile.pb-c.h"

typedef Perftools__Profiles__Profile PbProfile;

typedef enum PprofStatus
{
	PPROF_OK = 0,
	PPROF_MALFORMED,			/* bytes are not a valid profile */
	PPROF_TOO_LARGE,			/* a size limit was exceeded */
	PPROF_OVERFLOW				/* a sum does not fit in int64 */
} PprofStatus;

#define PPROF_ERRDETAIL_LEN 256

typedef struct PprofError
{
	PprofStatus status;
	char		detail[PPROF_ERRDETAIL_LEN];	/* a complete sentence */
} PprofError;

/* Caller-supplied environment for every codec call. */
typedef struct PprofEnv
{
	ProtobufCAllocator alloc;	/* all memory comes from here */
	void		(*tick) (void *arg);	/* called in long loops; may longjmp */
	void	   *tick_arg;
	size_t		max_size;		/* cap on decompressed bytes */
} PprofEnv;

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
} PprofProfile;

/* ---- decoding ---- */

/* True when data starts with the gzip magic bytes. */
extern bool pprof_is_gzip(const uint8_t *data, size_t len);

/*
 * Decompresses a gzip stream (possibly of several members) into a new
 * buffer of at most env->max_size bytes.
 */
extern PprofStatus pprof_gunzip(const PprofEnv *env, const uint8_t *in, size_t len,
								uint8_t **out, size_t *outlen, PprofError *err);

/* Compresses raw bytes into a single gzip member. */
extern PprofStatus pprof_gzip(const PprofEnv *env, const uint8_t *in, size_t len,
							  int level, uint8_t **out, size_t *outlen,
							  PprofError *err);

/*
 * Parses uncompressed protobuf into the model, following the wire rules of
 * Go's profile package decoder (pprof_wire.c). No validation.
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
 * Parses gzip or raw protobuf bytes and validates them. On success *out is
 * filled in; if raw_out is given it receives the uncompressed protobuf.
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

/*
 * Makes room for `more` elements in a growable array of `elem`-byte
 * elements holding n, doubling its capacity *cap; returns the (possibly
 * new) array, the old one freed.
 */
extern void *pprof_grow(const PprofEnv *env, void *arr, size_t n, size_t *cap,
						size_t more, size_t elem);

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

/* ---- the stored form (pprof_store.c) ---- */

/*
 * A stored profile is a 2-byte header followed by one zstd frame (with
 * content size and checksum) holding the profile's uncompressed protobuf
 * exactly as received:
 *
 *   byte 0     format version (PPROF_STORE_V1)
 *   byte 1     flags (0; reserved for later formats)
 */
#define PPROF_STORE_V1		1
#define PPROF_STORE_HDRSZ	2

/* Packs validated raw protobuf into the stored form. */
extern PprofStatus pprof_store_pack(const PprofEnv *env, const uint8_t *raw, size_t len,
									int level, uint8_t **out, size_t *outlen,
									PprofError *err);

/* Unpacks the stored form back into raw protobuf. */
extern PprofStatus pprof_store_unpack(const PprofEnv *env, const uint8_t *stored,
									  size_t len, uint8_t **raw, size_t *rawlen,
									  PprofError *err);

/* Unpacks and decodes a stored value (validating it again). */
extern PprofStatus pprof_store_decode(const PprofEnv *env, const uint8_t *stored,
									  size_t len, PprofProfile *out, PprofError *err);

#endif							/* PPROF_CODEC_H */
