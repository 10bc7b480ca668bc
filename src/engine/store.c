/*-------------------------------------------------------------------------
 *
 * pprof_store.c
 *	  The stored form of a profile: an 8-byte header and a zstd frame of the
 *	  profile's protobuf bytes exactly as received (see pprof_codec.h).
 *
 * Why zstd and not the gzip bytes as received: on the corpus, zstd level 3
 * stores profiles in 5-50% less space than their gzip form and
 * decompresses ~5x faster than zlib inflates, and decompression is the
 * first cost of every read, merge and top (docs/decisions.md has the
 * numbers; bench/storage.sh measures them again).
 *
 * zstd allocates its contexts with malloc. We keep one compression and one
 * decompression context per process, created on first use and reused;
 * zstd never calls back into our code, so an ERROR cannot unwind through
 * it and leak anything.
 *
 * src/pprof_store.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <zstd.h>

#include "profile.h"

static ZSTD_CCtx *cctx;
static ZSTD_DCtx *dctx;

static PprofStatus
store_error(PprofError *err, PprofStatus st, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

static PprofStatus
store_error(PprofError *err, PprofStatus st, const char *fmt,...)
{
	va_list		ap;

	err->status = st;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return st;
}

PprofStatus
pprof_store_pack(const PprofEnv *env, const uint8_t *raw, size_t len, int level,
				 uint8_t **out, size_t *outlen, PprofError *err)
{
	size_t		bound = ZSTD_compressBound(len);
	uint8_t    *buf;
	size_t		n;

	if (len > UINT32_MAX)
		return store_error(err, PPROF_TOO_LARGE,
						   "The profile is %zu bytes; at most 4GB can be stored.", len);
	if (cctx == NULL && (cctx = ZSTD_createCCtx()) == NULL)
		return store_error(err, PPROF_TOO_LARGE, "Out of memory for the zstd compressor.");
	buf = env->alloc.alloc(env->alloc.allocator_data, PPROF_STORE_HDRSZ + bound);
	if (env->tick)
		env->tick(env->tick_arg);
	/* The frame carries a checksum, so a damaged stored value is refused. */
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(cctx, buf + PPROF_STORE_HDRSZ, bound, raw, len);
	if (ZSTD_isError(n))
		return store_error(err, PPROF_MALFORMED, "zstd compression failed: %s.",
						   ZSTD_getErrorName(n));
	buf[0] = PPROF_STORE_V1;
	buf[1] = 0;
	*out = buf;
	*outlen = PPROF_STORE_HDRSZ + n;
	return PPROF_OK;
}

PprofStatus
pprof_store_unpack(const PprofEnv *env, const uint8_t *stored, size_t len,
				   uint8_t **raw, size_t *rawlen, PprofError *err)
{
	unsigned long long csize;
	size_t		size;
	uint8_t    *buf;
	size_t		n;

	if (len < PPROF_STORE_HDRSZ || stored[0] != PPROF_STORE_V1 || stored[1] != 0)
		return store_error(err, PPROF_MALFORMED,
						   "The stored profile has an unknown format (version byte %d).",
						   len > 0 ? stored[0] : -1);
	csize = ZSTD_getFrameContentSize(stored + PPROF_STORE_HDRSZ, len - PPROF_STORE_HDRSZ);
	if (csize == ZSTD_CONTENTSIZE_ERROR || csize == ZSTD_CONTENTSIZE_UNKNOWN)
		return store_error(err, PPROF_MALFORMED, "The stored profile is corrupt: bad zstd frame header.");
	size = (size_t) csize;
	if (csize > env->max_size)
		return store_error(err, PPROF_TOO_LARGE,
						   "The stored profile is %zu bytes once decompressed, more than the limit of %zu bytes.",
						   size, env->max_size);
	if (dctx == NULL && (dctx = ZSTD_createDCtx()) == NULL)
		return store_error(err, PPROF_TOO_LARGE, "Out of memory for the zstd decompressor.");
	buf = env->alloc.alloc(env->alloc.allocator_data, size > 0 ? size : 1);
	if (env->tick)
		env->tick(env->tick_arg);
	n = ZSTD_decompressDCtx(dctx, buf, size, stored + PPROF_STORE_HDRSZ,
							len - PPROF_STORE_HDRSZ);
	if (ZSTD_isError(n) || n != size)
		return store_error(err, PPROF_MALFORMED, "The stored profile is corrupt: %s.",
						   ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
	*raw = buf;
	*rawlen = size;
	return PPROF_OK;
}

PprofStatus
pprof_store_decode(const PprofEnv *env, const uint8_t *stored, size_t len,
				   PprofProfile *out, PprofError *err)
{
	uint8_t    *raw = NULL;
	size_t		rawlen = 0;
	PprofStatus st;

	memset(out, 0, sizeof(*out));
	st = pprof_store_unpack(env, stored, len, &raw, &rawlen, err);
	if (st != PPROF_OK)
		return st;
	st = pprof_parse_protobuf(env, raw, rawlen, out, err);
	if (st != PPROF_OK)
		return st;
	return pprof_validate(env, out, err);
}
