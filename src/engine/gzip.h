/*-------------------------------------------------------------------------
 *
 * gzip.h
 *	  gzip, the form profiles travel in: inflating with a size cap, and
 *	  deflating what pprof tools are handed. zlib on the environment's
 *	  allocator.
 *
 * src/engine/gzip.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_GZIP_H
#define PPROF_GZIP_H

#include "env.h"

/* True when data starts with the gzip magic bytes. */
extern bool pprof_is_gzip(const uint8_t *data, size_t len);

/*
 * Decompresses a gzip stream (possibly of several members, as Go's reader
 * allows) into a new buffer of at most env->max_size bytes.
 */
/* Frees a PprofZstd's inflater (pprof_zstd_release calls it). */
extern void pprof_inflater_free(void *inflater);

extern PprofStatus pprof_gunzip(const PprofEnv *env, const uint8_t *in, size_t len,
								uint8_t **out, size_t *outlen, PprofError *err);

/* pprof_gunzip, telling whether the input was one whole member (*whole; see PprofProfile.gzip_whole). */
extern PprofStatus pprof_gunzip_ex(const PprofEnv *env, const uint8_t *in, size_t len,
								   uint8_t **out, size_t *outlen, bool *whole, PprofError *err);

/* Compresses raw bytes into a single gzip member. */
extern PprofStatus pprof_gzip(const PprofEnv *env, const uint8_t *in, size_t len,
							  int level, uint8_t **out, size_t *outlen,
							  PprofError *err);

#endif							/* PPROF_GZIP_H */
