/*-------------------------------------------------------------------------
 *
 * store.h
 *	  The form profefe stores a profile in: a 2-byte header followed by
 *	  the profile's protobuf, exactly as received, in one of two forms.
 *
 *   byte 0     format version:
 *              PPROF_STORE_V1    one zstd frame (with content size and
 *                                checksum) of the uncompressed protobuf
 *              PPROF_STORE_GZIP  the gzip member as received (0.8.0): a
 *                                profile that came as one whole gzip
 *                                member of at most PPROF_STORE_KEEP_MAX
 *                                bytes uncompressed
 *              PPROF_STORE_RAW   the uncompressed protobuf (0.9.0): what
 *                                a profile read back from a pack is
 *                                (pack.h); saves never write it
 *   byte 1     flags (0; reserved for later formats)
 *
 * Why zstd for large profiles and the received gzip for small ones is in
 * docs/decisions.md (§1 and §17): zstd halves large profiles, while for
 * small ones it is no smaller than their gzip (0.96-1.0x) and compressing
 * was the largest single cost of a save.
 *
 * src/engine/store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_STORE_H
#define PPROF_STORE_H

#include "profile.h"

#define PPROF_STORE_V1		1
#define PPROF_STORE_GZIP	2
#define PPROF_STORE_RAW		3
#define PPROF_STORE_HDRSZ	2

/* The largest uncompressed profile whose gzip is kept as received. */
#define PPROF_STORE_KEEP_MAX	(64 * 1024)

/* zstd level of stored profiles: zstd's default, smaller than gzip -6 on every corpus file */
#define PPROF_STORE_LEVEL	3

/* Packs validated raw protobuf into the stored form. */
extern PprofStatus pprof_store_pack(const PprofEnv *env, const uint8_t *raw, size_t len,
									int level, uint8_t **out, size_t *outlen,
									PprofError *err);

/* Wraps validated raw protobuf as the stored form PPROF_STORE_RAW. */
extern PprofStatus pprof_store_raw(const PprofEnv *env, const uint8_t *raw, size_t len,
								   uint8_t **out, size_t *outlen, PprofError *err);

/* Keeps a validated whole gzip member as the stored form (PPROF_STORE_GZIP). */
extern PprofStatus pprof_store_keep(const PprofEnv *env, const uint8_t *gz, size_t len,
									uint8_t **out, size_t *outlen, PprofError *err);

/*
 * Whether the stored value holds its gzip as received; if so *gz and *gzlen
 * point at it, inside stored.
 */
extern bool pprof_store_gzip(const uint8_t *stored, size_t len, const uint8_t **gz, size_t *gzlen);

/*
 * Unpacks the stored form back into raw protobuf. env->max_size bounds the
 * size the frame header claims (a sanity bound: the value was validated
 * when it was stored).
 */
extern PprofStatus pprof_store_unpack(const PprofEnv *env, const uint8_t *stored,
									  size_t len, uint8_t **raw, size_t *rawlen,
									  PprofError *err);

/*
 * A 2-byte header (format, 0) and one zstd frame (content size and
 * checksum) of raw at level: the stored form PPROF_STORE_V1, and packs.
 */
extern PprofStatus pprof_zstd_frame_encode(const PprofEnv *env, uint8_t format, const uint8_t *raw,
										   size_t len, int level, uint8_t **out, size_t *outlen,
										   PprofError *err);

/*
 * Decompresses one zstd frame that gives its content size (at most
 * env->max_size) into a new buffer; what names the value in errors ("The
 * <what> is corrupt: ...").
 */
extern PprofStatus pprof_zstd_frame_decode(const PprofEnv *env, const uint8_t *frame, size_t len,
										   const char *what, uint8_t **out, size_t *outlen,
										   PprofError *err);

/* Unpacks and decodes a stored value (validating it again). */
extern PprofStatus pprof_store_decode(const PprofEnv *env, const uint8_t *stored,
									  size_t len, PprofProfile *out, PprofError *err);

/* Frees the zstd contexts a PprofZstd holds. */
extern void pprof_zstd_release(PprofZstd *z);

#endif							/* PPROF_STORE_H */
