/*-------------------------------------------------------------------------
 *
 * pack_sub.h
 *	  A pack's message streams split once more, by sub-field (0.9.1).
 *
 * Inside a pack (pack.h) every profile's samples sit side by side in one
 * stream, its locations in another, its functions in a third. Each of
 * those is a run of messages whose own fields mix things zstd models
 * badly together: a sample's stack (location ids), its values and its
 * labels; a location's id, address and lines. pack_sub splits such a
 * stream by sub-field number (every stack next to every stack, every
 * value next to every value), keeps the tags and lengths apart, writes
 * each message's id (sub-field 1, a varint) as the difference from the
 * previous one, and stores each distinct stack once: a later sample with
 * the same stack bytes names the earlier one; stacks of ids under 2^16 as
 * two byte planes, or (0.9.2, where zstd finds it smaller) as symbols over
 * the id before each (pack_ctx.h). Measured (docs/decisions.md §17, zstd level 9, the
 * payload against the gzip received): the large synthetic CPU profile
 * 0.480x → 0.394x; 200 Go CPU profiles of one service 0.403x → 0.347x
 * with every stream split (pack.c splits only where it pays: 0.385x).
 *
 * Lossless for any bytes that read as such messages: tags, lengths and
 * varints that are not in their shortest form are kept as they came
 * (only an id whose varint is not shortest turns the differences off for
 * the stream, and only a length in shortest form lets a stack be named
 * later). A stream that does not read as messages is not split.
 *
 * src/engine/pack_sub.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_PACK_SUB_H
#define PPROF_PACK_SUB_H

#include "env.h"

/*
 * Splits a stream of top-level fields with field number `field` (each a
 * length-delimited message); sub-field dedup_field (0: none) of wire type
 * 2 is stored once per distinct value. The messages come in nparts parts
 * of parts[i] messages (a pack's profiles; NULL and 0: one part), each of
 * which numbers its locations on its own. Returns false, with nothing
 * allocated, when the stream does not read as such messages.
 */
extern bool pprof_pack_sub_encode(const PprofEnv *env, const uint8_t *raw, size_t len, int field,
								  int dedup_field, const uint32_t *parts, uint32_t nparts,
								  uint8_t **out, size_t *outlen);

/*
 * Puts a split stream back (its parts as they were given to encode): *raw
 * (allocated) holds the stream as it was. A damaged one is PPROF_MALFORMED
 * with a detail saying what is wrong; env->max_size bounds the size it
 * claims.
 */
extern PprofStatus pprof_pack_sub_decode(const PprofEnv *env, const uint8_t *blob, size_t len, int field,
										 const uint32_t *parts, uint32_t nparts,
										 uint8_t **raw, size_t *rawlen, PprofError *err);

#endif							/* PPROF_PACK_SUB_H */
