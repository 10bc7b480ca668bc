/*-------------------------------------------------------------------------
 *
 * store.c
 *	  The stored form of a profile (store.h): packing with zstd or keeping
 *	  the gzip as received, unpacking with the frame's checksum or the
 *	  member's CRC-32 checked.
 *
 * zstd allocates its contexts with malloc and never calls back into our
 * code, so nothing can unwind through it. The contexts are the caller's
 * (env->zstd, kept across calls); without them a call makes its own and
 * frees them before it returns, and before then it never ticks (a tick may
 * not return).
 *
 * src/engine/store.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "gzip.h"
#include "store.h"

/* The status of a failed zstd call: memory, or something that should not happen. */
static PprofStatus
zstd_status(size_t rc)
{
	return ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation ? PPROF_NO_MEMORY : PPROF_INTERNAL;
}

PprofStatus
pprof_store_pack(const PprofEnv *env, const uint8_t *raw, size_t len, int level,
				 uint8_t **out, size_t *outlen, PprofError *err)
{
	return pprof_zstd_frame_encode(env, PPROF_STORE_V1, raw, len, level, out, outlen, err);
}

PprofStatus
pprof_zstd_frame_encode(const PprofEnv *env, uint8_t format, const uint8_t *raw, size_t len,
						int level, uint8_t **out, size_t *outlen, PprofError *err)
{
	ZSTD_CCtx  *cctx = env->zstd ? env->zstd->cctx : NULL;
	ZSTD_CCtx  *own = NULL;
	size_t		bound;
	uint8_t    *buf;
	size_t		n;

	if (len > UINT32_MAX)
		return pprof_error(err, PPROF_TOO_LARGE,
						   "The profile is %zu bytes; at most 4GB can be stored.", len);
	bound = ZSTD_compressBound(len);
	buf = pprof_alloc(env, PPROF_STORE_HDRSZ + bound);
	pprof_tick(env);
	if (cctx == NULL)
	{
		if ((cctx = ZSTD_createCCtx()) == NULL)
			return pprof_error(err, PPROF_NO_MEMORY, "Out of memory for the zstd compressor.");
		if (env->zstd)
			env->zstd->cctx = cctx;
		else
			own = cctx;
	}
	/* The frame carries a checksum, so a damaged stored value is refused. */
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(cctx, buf + PPROF_STORE_HDRSZ, bound, raw, len);
	ZSTD_freeCCtx(own);
	if (ZSTD_isError(n))
		return pprof_error(err, zstd_status(n), "zstd compression failed: %s.", ZSTD_getErrorName(n));
	buf[0] = format;
	buf[1] = 0;
	*out = buf;
	*outlen = PPROF_STORE_HDRSZ + n;
	return PPROF_OK;
}

/* The stored form fmt of bytes kept as they are. */
static PprofStatus
store_wrap(const PprofEnv *env, uint8_t fmt, const uint8_t *data, size_t len,
		   uint8_t **out, size_t *outlen, PprofError *err)
{
	uint8_t    *buf;

	if (len > UINT32_MAX)
		return pprof_error(err, PPROF_TOO_LARGE,
						   "The profile is %zu bytes; at most 4GB can be stored.", len);
	buf = pprof_alloc(env, PPROF_STORE_HDRSZ + len);
	buf[0] = fmt;
	buf[1] = 0;
	memcpy(buf + PPROF_STORE_HDRSZ, data, len);
	*out = buf;
	*outlen = PPROF_STORE_HDRSZ + len;
	return PPROF_OK;
}

PprofStatus
pprof_store_keep(const PprofEnv *env, const uint8_t *gz, size_t len,
				 uint8_t **out, size_t *outlen, PprofError *err)
{
	return store_wrap(env, PPROF_STORE_GZIP, gz, len, out, outlen, err);
}

PprofStatus
pprof_store_raw(const PprofEnv *env, const uint8_t *raw, size_t len,
				uint8_t **out, size_t *outlen, PprofError *err)
{
	return store_wrap(env, PPROF_STORE_RAW, raw, len, out, outlen, err);
}

bool
pprof_store_gzip(const uint8_t *stored, size_t len, const uint8_t **gz, size_t *gzlen)
{
	if (len < PPROF_STORE_HDRSZ || stored[0] != PPROF_STORE_GZIP || stored[1] != 0)
		return false;
	*gz = stored + PPROF_STORE_HDRSZ;
	*gzlen = len - PPROF_STORE_HDRSZ;
	return true;
}

PprofStatus
pprof_zstd_frame_decode(const PprofEnv *env, const uint8_t *frame, size_t len, const char *what,
						uint8_t **out, size_t *outlen, PprofError *err)
{
	ZSTD_DCtx  *dctx = env->zstd ? env->zstd->dctx : NULL;
	ZSTD_DCtx  *own = NULL;
	unsigned long long csize;
	size_t		size;
	uint8_t    *buf;
	size_t		n;

	csize = ZSTD_getFrameContentSize(frame, len);
	if (csize == ZSTD_CONTENTSIZE_ERROR || csize == ZSTD_CONTENTSIZE_UNKNOWN)
		return pprof_error(err, PPROF_MALFORMED, "The %s is corrupt: bad zstd frame header.", what);
	if (csize > env->max_size)
		return pprof_error(err, PPROF_TOO_LARGE,
						   "The %s is %llu bytes once decompressed, more than the limit of %zu bytes.",
						   what, csize, env->max_size);
	size = (size_t) csize;
	buf = pprof_alloc(env, size);
	pprof_tick(env);
	if (dctx == NULL)
	{
		if ((dctx = ZSTD_createDCtx()) == NULL)
			return pprof_error(err, PPROF_NO_MEMORY, "Out of memory for the zstd decompressor.");
		if (env->zstd)
			env->zstd->dctx = dctx;
		else
			own = dctx;
	}
	n = ZSTD_decompressDCtx(dctx, buf, size, frame, len);
	ZSTD_freeDCtx(own);
	if (ZSTD_isError(n) && ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation)
		return pprof_error(err, PPROF_NO_MEMORY, "Out of memory decompressing the %s.", what);
	if (ZSTD_isError(n) || n != size)
		return pprof_error(err, PPROF_MALFORMED, "The %s is corrupt: %s.", what,
						   ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
	*out = buf;
	*outlen = size;
	return PPROF_OK;
}

PprofStatus
pprof_store_unpack(const PprofEnv *env, const uint8_t *stored, size_t len,
				   uint8_t **raw, size_t *rawlen, PprofError *err)
{
	size_t		size;
	uint8_t    *buf;
	const uint8_t *gz;
	size_t		gzlen;

	if (pprof_store_gzip(stored, len, &gz, &gzlen))
	{
		PprofStatus st = pprof_gunzip(env, gz, gzlen, raw, rawlen, err);

		if (st == PPROF_MALFORMED)
		{
			char		why[sizeof(err->detail)];

			memcpy(why, err->detail, sizeof(why));
			return pprof_error(err, PPROF_MALFORMED, "The stored gzip profile is corrupt. %s", why);
		}
		return st;
	}
	if (len >= PPROF_STORE_HDRSZ && stored[0] == PPROF_STORE_RAW && stored[1] == 0)
	{
		size = len - PPROF_STORE_HDRSZ;
		if (size > env->max_size)
			return pprof_error(err, PPROF_TOO_LARGE,
							   "The stored profile is %zu bytes, more than the limit of %zu bytes.",
							   size, env->max_size);
		buf = pprof_alloc(env, size);
		memcpy(buf, stored + PPROF_STORE_HDRSZ, size);
		*raw = buf;
		*rawlen = size;
		return PPROF_OK;
	}
	if (len < PPROF_STORE_HDRSZ || stored[0] != PPROF_STORE_V1 || stored[1] != 0)
		return pprof_error(err, PPROF_MALFORMED,
						   "The stored profile has an unknown format (version byte %d).",
						   len > 0 ? stored[0] : -1);
	return pprof_zstd_frame_decode(env, stored + PPROF_STORE_HDRSZ, len - PPROF_STORE_HDRSZ,
								   "stored profile", raw, rawlen, err);
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

void
pprof_zstd_release(PprofZstd *z)
{
	ZSTD_freeCCtx(z->cctx);
	ZSTD_freeDCtx(z->dctx);
	pprof_inflater_free(z->inflater);
	z->cctx = NULL;
	z->dctx = NULL;
	z->inflater = NULL;
}
