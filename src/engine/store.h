/*-------------------------------------------------------------------------
 *
 * store.h
 *	  The form profefe stores a profile in: a 2-byte header followed by one
 *	  zstd frame (with content size and checksum) holding the profile's
 *	  uncompressed protobuf exactly as received.
 *
 *   byte 0     format version (PPROF_STORE_V1)
 *   byte 1     flags (0; reserved for later formats)
 *
 * Why zstd and not the gzip bytes as received is in docs/decisions.md
 * (smaller on the corpus, and ~5x faster to unpack, which every read pays).
 *
 * src/engine/store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_STORE_H
#define PPROF_STORE_H

#include "profile.h"

#define PPROF_STORE_V1		1
#define PPROF_STORE_HDRSZ	2

/* zstd level of stored profiles: zstd's default, smaller than gzip -6 on every corpus file */
#define PPROF_STORE_LEVEL	3

/* Packs validated raw protobuf into the stored form. */
extern PprofStatus pprof_store_pack(const PprofEnv *env, const uint8_t *raw, size_t len,
									int level, uint8_t **out, size_t *outlen,
									PprofError *err);

/*
 * Unpacks the stored form back into raw protobuf. env->max_size bounds the
 * size the frame header claims (a sanity bound: the value was validated
 * when it was stored).
 */
extern PprofStatus pprof_store_unpack(const PprofEnv *env, const uint8_t *stored,
									  size_t len, uint8_t **raw, size_t *rawlen,
									  PprofError *err);

/* Unpacks and decodes a stored value (validating it again). */
extern PprofStatus pprof_store_decode(const PprofEnv *env, const uint8_t *stored,
									  size_t len, PprofProfile *out, PprofError *err);

/* Frees the zstd contexts a PprofZstd holds. */
extern void pprof_zstd_release(PprofZstd *z);

#endif							/* PPROF_STORE_H */
