/*-------------------------------------------------------------------------
 *
 * pack.c
 *	  Building and opening packs (pack.h).
 *
 * The zstd frame is store.c's (pprof_zstd_frame_encode and _decode: the
 * caller's contexts, a checksum, the content size bounded by
 * env->max_size); this file lays out and checks what is inside it.
 *
 * src/engine/pack.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "pack.h"
#include "store.h"

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}


PprofStatus
pprof_pack_build(const PprofEnv *env, const uint8_t *const *raws, const size_t *lens,
				 uint32_t n, int level, uint8_t **out, size_t *outlen, PprofError *err)
{
	size_t		total = 4 + (size_t) n * 4;
	uint8_t    *content,
			   *p;
	PprofStatus st;
	uint32_t	i;

	for (i = 0; i < n; i++)
	{
		if (lens[i] > UINT32_MAX || lens[i] > env->max_size || total > env->max_size - lens[i])
			return pprof_error(err, PPROF_TOO_LARGE,
							   "The profiles to pack take more than the limit of %zu bytes.", env->max_size);
		total += lens[i];
	}
	content = pprof_alloc(env, total);
	put_u32(content, n);
	p = content + 4 + (size_t) n * 4;
	for (i = 0; i < n; i++)
	{
		put_u32(content + 4 + (size_t) i * 4, (uint32_t) lens[i]);
		if (lens[i] > 0)
			memcpy(p, raws[i], lens[i]);
		p += lens[i];
		if ((i & 63) == 0)
			pprof_tick(env);
	}
	st = pprof_zstd_frame_encode(env, PPROF_PACK_V1, content, total, level, out, outlen, err);
	pprof_free(env, content);
	return st;
}

PprofStatus
pprof_pack_open(const PprofEnv *env, const uint8_t *pack, size_t len, PprofPack *out,
				PprofError *err)
{
	PprofStatus st;
	size_t		size,
				at;
	uint8_t    *buf;
	uint32_t	count,
				i;

	memset(out, 0, sizeof(*out));
	if (len < PPROF_PACK_HDRSZ || pack[0] != PPROF_PACK_V1 || pack[1] != 0)
		return pprof_error(err, PPROF_MALFORMED, "The pack has an unknown format (version byte %d).",
						   len > 0 ? pack[0] : -1);
	st = pprof_zstd_frame_decode(env, pack + PPROF_PACK_HDRSZ, len - PPROF_PACK_HDRSZ, "pack",
								 &buf, &size, err);
	if (st != PPROF_OK)
		return st;
	if (size < 4)
		return pprof_error(err, PPROF_MALFORMED, "The pack is corrupt: %zu bytes of content.", size);
	count = get_u32(buf);
	if ((size - 4) / 4 < count)
		return pprof_error(err, PPROF_MALFORMED,
						   "The pack is corrupt: it claims %u profiles in %zu bytes.", count, size);
	out->offsets = pprof_alloc_array(env, (size_t) count + 1, sizeof(size_t));
	at = 4 + (size_t) count * 4;
	for (i = 0; i < count; i++)
	{
		uint32_t	l = get_u32(buf + 4 + (size_t) i * 4);

		out->offsets[i] = at;
		if (l > size - at)
			return pprof_error(err, PPROF_MALFORMED,
							   "The pack is corrupt: profile %u of %u overruns its content.", i + 1, count);
		at += l;
	}
	out->offsets[count] = at;
	if (at != size)
		return pprof_error(err, PPROF_MALFORMED,
						   "The pack is corrupt: %zu bytes past its last profile.", size - at);
	out->count = count;
	out->content = buf;
	out->content_len = size;
	return PPROF_OK;
}
