/*-------------------------------------------------------------------------
 *
 * pack.h
 *	  Packs: many validated profiles in one compressed value (0.9.0).
 *
 * The store keeps the profiles of one tenant's service, type and UTC hour
 * in packs once that hour is rolled up (docs/decisions.md §17): a row, a
 * TOAST value and a set of index entries for up to a thousand profiles
 * instead of one each, and one zstd frame over their protobufs, where
 * what instances of one service send repeats from profile to profile.
 *
 *   byte 0      PPROF_PACK_V1
 *   byte 1      flags: bit s - 2 set when message stream s (samples 2,
 *               mappings 3, locations 4, functions 5) is split by
 *               sub-field (pack_sub.h; 0.9.1; 0.9.0 wrote and reads 0;
 *               0.9.2 may code a split samples stream's stacks over the
 *               id before each, pack_ctx.h, which 0.9.1 refuses)
 *   bytes 2..   one zstd frame (content size and checksum) of the
 *               content: the profiles' top-level fields transposed into
 *               streams by field number (pack.c has the layout)
 *
 * src/engine/pack.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_PACK_H
#define PPROF_PACK_H

#include "profile.h"

#define PPROF_PACK_V1		1
#define PPROF_PACK_HDRSZ	2

/* zstd level of packs by default (profefe.pack_level): built in the background, read more often than written */
#define PPROF_PACK_LEVEL	9

/* An opened pack: its content decompressed, each profile's place in it. */
typedef struct PprofPack
{
	uint32_t	count;
	uint8_t    *content;		/* the decompressed frame */
	size_t		content_len;
	size_t	   *offsets;		/* count + 1 offsets into content */
} PprofPack;

/* pprof_pack_build's options */
#define PPROF_PACK_PLAIN	0x01	/* no stream split by sub-field (0.9.0's layout; tests, benchmarks) */

/*
 * Packs n validated raw protobufs (raws[i], lens[i]) into one value. The
 * total is bounded by env->max_size.
 */
extern PprofStatus pprof_pack_build(const PprofEnv *env, const uint8_t *const *raws,
									const size_t *lens, uint32_t n, int level, unsigned options,
									uint8_t **out, size_t *outlen, PprofError *err);

/*
 * Decompresses a pack and checks its layout (env->max_size bounds what its
 * frame header claims). A damaged pack is PPROF_MALFORMED, with a detail
 * saying what is wrong.
 */
extern PprofStatus pprof_pack_open(const PprofEnv *env, const uint8_t *pack, size_t len,
								   PprofPack *out, PprofError *err);

/* The protobuf of profile i (0-based, i < p->count) of an opened pack. */
static inline void
pprof_pack_entry(const PprofPack *p, uint32_t i, const uint8_t **raw, size_t *len)
{
	*raw = p->content + p->offsets[i];
	*len = p->offsets[i + 1] - p->offsets[i];
}

#endif							/* PPROF_PACK_H */
