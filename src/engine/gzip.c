/*-------------------------------------------------------------------------
 *
 * gzip.c
 *	  gzip through zlib on the environment's allocator (gzip.h).
 *
 * src/engine/gzip.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#include "gzip.h"

/* Bytes inflated or deflated between two calls of the tick hook. */
#define PPROF_CHUNK (1024 * 1024)

static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
	return pprof_alloc_array((const PprofEnv *) opaque, items, size);
}

static void
z_free(voidpf opaque, voidpf p)
{
	pprof_free((const PprofEnv *) opaque, p);
}

bool
pprof_is_gzip(const uint8_t *data, size_t len)
{
	return len >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

void
pprof_inflater_free(void *inflater)
{
	if (inflater)
		libdeflate_free_decompressor(inflater);
}

/*
 * The common case first: one gzip member of at most PPROF_CHUNK bytes
 * whose trailer gives its size (ISIZE), decompressed by libdeflate in one call,
 * about three times zlib's speed on profiles of a few KB. Anything else
 * (several members, bytes after the member, a trailer that lies, a size
 * past the limit, corrupt or cut data) returns false and goes to the zlib
 * loop below, which takes every case Go's reader takes and words every
 * error; so this path changes speed, never an answer. libdeflate checks
 * the CRC-32 and ISIZE itself and allocates nothing while decompressing.
 */
static bool
gunzip_whole(const PprofEnv *env, const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	struct libdeflate_decompressor *d = env->zstd ? env->zstd->inflater : NULL;
	const uint8_t *t = in + len - 4;
	size_t		isize,
				in_used = 0,
				out_used = 0;
	uint8_t    *buf;
	enum libdeflate_result r;
	bool		own = false;

	if (len < 18 || len > INT_MAX)
		return false;
	isize = (size_t) t[0] | ((size_t) t[1] << 8) | ((size_t) t[2] << 16) | ((size_t) t[3] << 24);
	/* larger ones take the loop, which calls the tick hook as it goes */
	if (isize > env->max_size || isize > PPROF_CHUNK)
		return false;
	if (d == NULL)
	{
		if ((d = libdeflate_alloc_decompressor()) == NULL)
			return false;
		if (env->zstd)
			env->zstd->inflater = d;
		else
			own = true;
	}
	buf = pprof_alloc(env, isize + 1);
	r = libdeflate_gzip_decompress_ex(d, in, len, buf, isize, &in_used, &out_used);
	if (own)
		libdeflate_free_decompressor(d);
	if (r != LIBDEFLATE_SUCCESS || in_used != len || out_used != isize)
	{
		pprof_free(env, buf);
		return false;
	}
	*out = buf;
	*outlen = out_used;
	return true;
}

PprofStatus
pprof_gunzip(const PprofEnv *env, const uint8_t *in, size_t len,
			 uint8_t **out, size_t *outlen, PprofError *err)
{
	bool		whole;

	return pprof_gunzip_ex(env, in, len, out, outlen, &whole, err);
}

PprofStatus
pprof_gunzip_ex(const PprofEnv *env, const uint8_t *in, size_t len,
				uint8_t **out, size_t *outlen, bool *whole, PprofError *err)
{
	z_stream	zs;
	size_t		limit = env->max_size;
	size_t		cap;
	size_t		used = 0;
	uint8_t    *buf;
	int			rc;

	*whole = gunzip_whole(env, in, len, out, outlen);
	if (*whole)
		return PPROF_OK;

	/*
	 * The buffer never exceeds limit + 1 bytes: filling that last byte is
	 * how we learn the output is too large without inflating any further.
	 * The gzip trailer's ISIZE (size mod 2^32 of the last member) is only a
	 * hint for the first allocation; it is never trusted beyond that.
	 */
	cap = len * 4;
	if (len >= 18)
	{
		const uint8_t *t = in + len - 4;
		size_t		isize = (size_t) t[0] | ((size_t) t[1] << 8) |
			((size_t) t[2] << 16) | ((size_t) t[3] << 24);

		if (isize > cap)
			cap = isize;
	}
	if (cap < 4096)
		cap = 4096;
	if (cap > limit)
		cap = limit;
	cap += 1;
	buf = pprof_alloc(env, cap);

	memset(&zs, 0, sizeof(zs));
	zs.zalloc = z_alloc;
	zs.zfree = z_free;
	zs.opaque = (voidpf) env;
	if ((rc = inflateInit2(&zs, 16 + MAX_WBITS)) != Z_OK)
		return pprof_error(err, rc == Z_MEM_ERROR ? PPROF_NO_MEMORY : PPROF_INTERNAL,
						   "Could not initialise the gzip decoder.");

	zs.next_in = (Bytef *) in;
	zs.avail_in = len > UINT_MAX ? UINT_MAX : (uInt) len;

	for (;;)
	{
		size_t		room;
		size_t		before_in;

		pprof_tick(env);
		if (used == cap)
		{
			size_t		ncap;
			uint8_t    *nbuf;

			if (cap >= limit + 1)
			{
				inflateEnd(&zs);
				return pprof_error(err, PPROF_TOO_LARGE,
								 "The decompressed profile is larger than the limit of %zu bytes.",
								 limit);
			}
			ncap = cap > (limit + 1) / 2 ? limit + 1 : cap * 2;
			nbuf = pprof_alloc(env, ncap);
			memcpy(nbuf, buf, used);
			pprof_free(env, buf);
			buf = nbuf;
			cap = ncap;
		}
		room = cap - used;
		if (room > PPROF_CHUNK)
			room = PPROF_CHUNK;
		zs.next_out = buf + used;
		zs.avail_out = (uInt) room;
		before_in = zs.avail_in;
		rc = inflate(&zs, Z_NO_FLUSH);
		used += room - zs.avail_out;

		if (rc == Z_STREAM_END)
		{
			size_t		consumed = (size_t) (zs.next_in - in);

			if (consumed == len)
				break;
			/* Another gzip member follows, as Go's multistream reader allows. */
			if (!pprof_is_gzip(in + consumed, len - consumed))
			{
				inflateEnd(&zs);
				return pprof_error(err, PPROF_MALFORMED,
								 "The gzip stream is followed by %zu bytes that are not gzip data.",
								 len - consumed);
			}
			if (inflateReset(&zs) != Z_OK)
			{
				inflateEnd(&zs);
				return pprof_error(err, PPROF_INTERNAL, "Could not reset the gzip decoder.");
			}
			continue;
		}
		if (rc == Z_OK)
		{
			/* Refill the 32-bit input window when input remains. */
			if (zs.avail_in == 0)
			{
				size_t		consumed = (size_t) (zs.next_in - in);

				if (consumed == len)
				{
					inflateEnd(&zs);
					return pprof_error(err, PPROF_MALFORMED,
									 "The gzip stream is truncated after %zu bytes of compressed input.",
									 len);
				}
				zs.avail_in = len - consumed > UINT_MAX ? UINT_MAX : (uInt) (len - consumed);
			}
			continue;
		}
		if (rc == Z_BUF_ERROR && zs.avail_out > 0 && zs.avail_in == before_in)
		{
			/* No progress possible: the input ended mid-stream. */
			inflateEnd(&zs);
			return pprof_error(err, PPROF_MALFORMED,
							 "The gzip stream is truncated after %zu bytes of compressed input.",
							 len);
		}
		if (rc == Z_BUF_ERROR)
			continue;
		inflateEnd(&zs);
		if (rc == Z_MEM_ERROR)
			return pprof_error(err, PPROF_NO_MEMORY, "Out of memory inflating the gzip data.");
		return pprof_error(err, PPROF_MALFORMED, "The gzip data is corrupt: %s.",
						 zs.msg ? zs.msg : "unknown zlib error");
	}
	inflateEnd(&zs);
	if (used > limit)
		return pprof_error(err, PPROF_TOO_LARGE,
						 "The decompressed profile is larger than the limit of %zu bytes.",
						 limit);
	*out = buf;
	*outlen = used;
	return PPROF_OK;
}

PprofStatus
pprof_gzip(const PprofEnv *env, const uint8_t *in, size_t len, int level,
		   uint8_t **out, size_t *outlen, PprofError *err)
{
	z_stream	zs;
	size_t		cap;
	uint8_t    *buf;
	size_t		fed = 0;
	int			rc;

	/* zlib counts output in 32 bits: the whole bound must fit */
	if (len > UINT_MAX / 2)
		return pprof_error(err, PPROF_TOO_LARGE, "The profile is %zu bytes; at most %u can be gzipped.",
						   len, UINT_MAX / 2);
	memset(&zs, 0, sizeof(zs));
	zs.zalloc = z_alloc;
	zs.zfree = z_free;
	zs.opaque = (voidpf) env;
	if ((rc = deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY)) != Z_OK)
		return pprof_error(err, rc == Z_MEM_ERROR ? PPROF_NO_MEMORY : PPROF_INTERNAL,
						   "Could not initialise the gzip encoder.");

	cap = deflateBound(&zs, len) + 64;
	buf = pprof_alloc(env, cap);
	zs.next_out = buf;
	zs.avail_out = (uInt) cap;
	do
	{
		size_t		chunk = len - fed > PPROF_CHUNK ? PPROF_CHUNK : len - fed;

		pprof_tick(env);
		zs.next_in = (Bytef *) in + fed;
		zs.avail_in = (uInt) chunk;
		fed += chunk;
		rc = deflate(&zs, fed == len ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_ERROR || (fed < len && zs.avail_in != 0))
		{
			deflateEnd(&zs);
			return pprof_error(err, PPROF_INTERNAL, "Could not gzip the profile.");
		}
	} while (fed < len);
	if (rc != Z_STREAM_END)
	{
		deflateEnd(&zs);
		return pprof_error(err, PPROF_INTERNAL, "Could not gzip the profile.");
	}
	*out = buf;
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return PPROF_OK;
}
