/*-------------------------------------------------------------------------
 *
 * pprof_codec.h
 *	  Decode, validate and encode pprof profiles (gzip + protobuf).
 *
 * Plain C: nothing here includes postgres.h, so the codec can be unit
 * tested, fuzzed and benchmarked outside the server. Every allocation goes
 * through the caller's ProtobufCAllocator (palloc inside the server, an
 * arena elsewhere), and long loops call the caller's tick hook, which is
 * where the server checks for interrupts.
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

#include <protobuf-c/protobuf-c.h>

#include "proto/profile.pb-c.h"

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Label PbLabel;
typedef Perftools__Profiles__ValueType PbValueType;

typedef enum PprofStatus
{
	PPROF_OK = 0,
	PPROF_MALFORMED,			/* bytes are not a valid profile */
	PPROF_TOO_LARGE				/* a size limit was exceeded */
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

/*
 * Maps object ids (mapping, location, function) to their index in the
 * profile's arrays. Dense when ids are small (the common 1..n case), else a
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

/* A decoded, validated profile. */
typedef struct PprofProfile
{
	PbProfile  *pb;
	size_t		raw_size;		/* bytes of uncompressed protobuf */
	PprofIdMap	mappings;
	PprofIdMap	locations;
	PprofIdMap	functions;
} PprofProfile;

/* Looks up an id; returns the index or -1 when absent. */
extern int64_t pprof_idmap_find(const PprofIdMap *map, uint64_t id);

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
 * Parses gzip or raw protobuf bytes and checks everything Go's
 * profile.Parse and CheckValid check. On success *out is filled in.
 */
extern PprofStatus pprof_decode(const PprofEnv *env, const uint8_t *data, size_t len,
								PprofProfile *out, PprofError *err);

/* Checks an already unpacked profile and builds its id maps. */
extern PprofStatus pprof_validate(const PprofEnv *env, PprofProfile *prof,
								  PprofError *err);

/* Serialises a profile message to raw protobuf. */
extern PprofStatus pprof_pack(const PprofEnv *env, const PbProfile *pb,
							  uint8_t **out, size_t *outlen, PprofError *err);

/* Returns string_table[idx]; idx must have been validated. */
static inline ProtobufCBinaryData
pprof_str(const PbProfile *pb, int64_t idx)
{
	return pb->string_table[idx];
}

/*
 * Resolves a sample type name the way pprof's -sample_index does: NULL
 * means the default (default_sample_type if it names a type, else the last
 * one); a decimal number is an index; "inuse_X" also matches type "X".
 * Returns -1 when nothing matches.
 */
extern int	pprof_sample_index(const PbProfile *pb, const char *name);

#endif							/* PPROF_CODEC_H */
