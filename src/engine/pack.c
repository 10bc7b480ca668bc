/*-------------------------------------------------------------------------
 *
 * pack.c
 *	  Building and opening packs (pack.h).
 *
 * A pack's content is transposed: each profile's top-level protobuf fields
 * go to one stream per field number (every profile's string table side by
 * side, every profile's functions, locations, samples), with the order
 * they came in kept apart, so that zstd finds what instances of a service
 * share next to each other. Measured on 100 CPU profiles of gen-profiles'
 * service (6 KB gzip each, zstd level 9): 0.47x of their gzip size
 * concatenated as they are, 0.41x transposed (docs/decisions.md §17).
 * Opening puts every profile back byte for byte.
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
#include "packfmt.h"
#include "pack_sub.h"
#include "store.h"

/* Streams: field numbers 1..14 (every field of pprof's Profile), 0 for any other. */
#define PACK_STREAMS 15
/* The flags byte: bit s - 2 for message stream s (2..5) split by sub-field (pack_sub.h). */
#define PACK_SPLIT_FLAGS 0x0f
/* A stream is split when that makes it this small against itself at zstd level 1 (split_pays)... */
#define PACK_SPLIT_GAIN 0.7
/* ... tried on its first this many bytes (whole fields) */
#define PACK_SPLIT_TRIAL (1024 * 1024)

/*
 * The length of the top-level field starting at p[at] (tag included) and
 * its stream; 0 when the bytes are not one whole field.
 */
static size_t
field_len(const uint8_t *p, size_t end, size_t at, int *stream)
{
	size_t		i = at;
	uint64_t	tag,
				v;

	if (!pack_read_varint(p, end, &i, &tag))
		return 0;
	switch (tag & 7)
	{
		case 0:
			if (!pack_read_varint(p, end, &i, &v))
				return 0;
			break;
		case 1:
			if (end - i < 8)
				return 0;
			i += 8;
			break;
		case 5:
			if (end - i < 4)
				return 0;
			i += 4;
			break;
		case 2:
			if (!pack_read_varint(p, end, &i, &v) || v > end - i)
				return 0;
			i += (size_t) v;
			break;
		default:
			return 0;
	}
	*stream = (tag >> 3) >= 1 && (tag >> 3) < PACK_STREAMS ? (int) (tag >> 3) : 0;
	return i - at;
}

/*
 * Whether the split form of a stream is worth what it costs to open (the
 * split decoder runs ~40 instructions a field): at most PACK_SPLIT_GAIN of
 * the stream's size, tried at zstd level 1 on the stream's first
 * PACK_SPLIT_TRIAL bytes (a few ms for a pack however large; the whole
 * stream's split form is made only if it pays). Measured (2026-12-02, docs/decisions.md §17): 200 Go CPU
 * profiles, split/plain at level 1: samples 0.90, locations 0.82,
 * functions 0.49; heap samples 0.995, locations 0.97; goroutine every
 * stream larger split; the large synthetic CPU profile's samples 0.40,
 * locations 0.65, functions 0.39. With 0.9 (every CPU stream split) a
 * pack of 200 CPU profiles was 11% smaller but opened in 1.5x the
 * instructions and merged ~8% slower; with 0.7, 4% smaller at +14%
 * instructions and merges as fast; large profiles the same either way.
 */
static bool
split_pays(const PprofEnv *env, const uint8_t *raw, size_t len, int stream, const uint32_t *parts,
		   uint32_t nparts, uint8_t **whole, size_t *whole_len)
{
	size_t		plen = 0,
				la,
				lb,
				splen;
	uint8_t    *a,
			   *b,
			   *sp;
	PprofError	err;
	bool		pays;

	/* the first whole fields of PACK_SPLIT_TRIAL bytes or so */
	while (plen < len && plen < PACK_SPLIT_TRIAL)
	{
		int			st;
		size_t		l = field_len(raw, len, plen, &st);

		if (l == 0)
			return false;
		plen += l;
	}
	if (!pprof_pack_sub_encode(env, raw, plen, stream, stream == 2 ? 1 : 0, parts, nparts, &sp, &splen))
		return false;
	if (pprof_zstd_frame_encode(env, PPROF_PACK_V1, raw, plen, 1, &a, &la, &err) != PPROF_OK)
		return false;
	if (pprof_zstd_frame_encode(env, PPROF_PACK_V1, sp, splen, 1, &b, &lb, &err) != PPROF_OK)
		return false;
	pays = (double) lb <= PACK_SPLIT_GAIN * (double) la;
	pprof_free(env, a);
	pprof_free(env, b);
	if (pays && plen == len)
	{
		*whole = sp;			/* the trial was the whole stream */
		*whole_len = splen;
	}
	else
		pprof_free(env, sp);
	return pays;
}

/*
 * How many fields of stream s each of the n profiles has, read from the
 * order bytes at content[head..): the parts of a split stream (pack_sub.h).
 * The caller has checked that the profiles' field counts add up.
 */
static uint32_t *
stream_parts(const PprofEnv *env, const uint8_t *content, uint32_t n, size_t head, int s)
{
	uint32_t   *parts = pprof_alloc0_array(env, n > 0 ? n : 1, sizeof(uint32_t));
	size_t		ord = head;

	for (uint32_t i = 0; i < n; i++)
	{
		uint32_t	nf = pack_get_u32(content + 4 + (size_t) n * 4 + (size_t) i * 4);

		for (uint32_t f = 0; f < nf; f++)
			parts[i] += content[ord++] == s;
	}
	return parts;
}

/*
 * Splits the message streams of samples, mappings, locations and functions
 * by sub-field (pack_sub.h) where they read as messages and it pays: the content is
 * rebuilt with each split one in place of the stream (its size in the
 * table is the split one's). Returns the pack's flags: bit s - 2 for
 * stream s split.
 */
static uint8_t
split_streams(const PprofEnv *env, uint8_t **content, size_t *total, size_t streams_at,
			  const size_t *sizes, uint32_t n)
{
	uint8_t    *split[PACK_STREAMS] = {0};
	size_t		split_len[PACK_STREAMS] = {0};
	size_t		from = streams_at,
				to,
				len = streams_at;
	uint8_t		flags = 0;
	uint8_t    *res;
	uint32_t   *parts = stream_parts(env, *content, n, 4 + (size_t) n * 8 + PACK_STREAMS * 4, 2);

	for (int s = 0; s < PACK_STREAMS; s++)
	{
		/* only the samples' stacks are coded per profile (pack_ctx.h) */
		const uint32_t *p = s == 2 ? parts : NULL;
		uint32_t	np = s == 2 ? n : 0;

		if (s >= 2 && s <= 5 && sizes[s] > 0 &&
			split_pays(env, *content + from, sizes[s], s, p, np, &split[s], &split_len[s]) &&
			(split[s] != NULL ||
			 pprof_pack_sub_encode(env, *content + from, sizes[s], s, s == 2 ? 1 : 0, p, np,
								   &split[s], &split_len[s])))
			flags |= (uint8_t) (1 << (s - 2));
		len += split[s] ? split_len[s] : sizes[s];
		from += sizes[s];
	}
	pprof_free(env, parts);
	if (flags == 0)
		return 0;
	res = pprof_alloc(env, len);
	memcpy(res, *content, streams_at);
	from = streams_at;
	to = streams_at;
	for (int s = 0; s < PACK_STREAMS; s++)
	{
		size_t		l = split[s] ? split_len[s] : sizes[s];

		memcpy(res + to, split[s] ? split[s] : *content + from, l);
		pack_put_u32(res + 4 + (size_t) n * 8 + (size_t) s * 4, (uint32_t) l);
		from += sizes[s];
		to += l;
		pprof_free(env, split[s]);
	}
	pprof_free(env, *content);
	*content = res;
	*total = len;
	return flags;
}

/*
 * Content layout (all uint32 little-endian):
 *   count; count x profile size; count x number of fields;
 *   PACK_STREAMS x stream size; the stream of each field, a byte each, in
 *   order; the streams.
 */
static PprofStatus
pack_build_once(const PprofEnv *env, const uint8_t *const *raws, const size_t *lens,
				uint32_t n, int level, unsigned options, uint8_t **out, size_t *outlen, PprofError *err)
{
	size_t		sizes[PACK_STREAMS] = {0};
	size_t		at[PACK_STREAMS];
	size_t		nfields = 0,
				total,
				head,
				data = 0,
				ord;
	uint32_t   *counts;
	uint8_t    *content;
	uint8_t		flags;
	PprofStatus st;
	uint32_t	i;

	counts = pprof_alloc0_array(env, n > 0 ? n : 1, sizeof(uint32_t));
	/* first pass: each profile's fields, and each stream's size */
	for (i = 0; i < n; i++)
	{
		size_t		pos = 0;

		if (lens[i] > UINT32_MAX || lens[i] > env->max_size || data > env->max_size - lens[i])
			return pprof_error(err, PPROF_TOO_LARGE,
							   "The profiles to pack take more than the limit of %zu bytes.", env->max_size);
		data += lens[i];
		while (pos < lens[i])
		{
			int			s;
			size_t		l = field_len(raws[i], lens[i], pos, &s);

			if (l == 0)
				return pprof_error(err, PPROF_MALFORMED,
								   "Profile %u of the pack is not protobuf at byte %zu.", i + 1, pos);
			sizes[s] += l;
			pos += l;
			counts[i]++;
			nfields++;
		}
		if ((i & 63) == 0)
			pprof_tick(env);
	}
	head = 4 + (size_t) n * 8 + PACK_STREAMS * 4;
	if (nfields > env->max_size || head + nfields > env->max_size - data)
		return pprof_error(err, PPROF_TOO_LARGE,
						   "The profiles to pack take more than the limit of %zu bytes.", env->max_size);
	total = head + nfields + data;
	content = pprof_alloc(env, total);
	pack_put_u32(content, n);
	for (i = 0; i < n; i++)
	{
		pack_put_u32(content + 4 + (size_t) i * 4, (uint32_t) lens[i]);
		pack_put_u32(content + 4 + (size_t) n * 4 + (size_t) i * 4, counts[i]);
	}
	at[0] = head + nfields;
	for (int s = 0; s < PACK_STREAMS; s++)
	{
		pack_put_u32(content + 4 + (size_t) n * 8 + (size_t) s * 4, (uint32_t) sizes[s]);
		if (s > 0)
			at[s] = at[s - 1] + sizes[s - 1];
	}
	/* second pass: the order, and each field into its stream */
	ord = head;
	for (i = 0; i < n; i++)
	{
		size_t		pos = 0;

		while (pos < lens[i])
		{
			int			s;
			size_t		l = field_len(raws[i], lens[i], pos, &s);

			content[ord++] = (uint8_t) s;
			memcpy(content + at[s], raws[i] + pos, l);
			at[s] += l;
			pos += l;
		}
		if ((i & 63) == 0)
			pprof_tick(env);
	}
	pprof_free(env, counts);
	flags = (options & PPROF_PACK_PLAIN) ? 0 : split_streams(env, &content, &total, head + nfields, sizes, n);
	st = pprof_zstd_frame_encode(env, PPROF_PACK_V1, content, total, level, out, outlen, err);
	pprof_free(env, content);
	if (st == PPROF_OK)
		(*out)[1] = flags;
	return st;
}

/* Whether a pack just built opens to exactly the n profiles it was built from. */
static bool
pack_gives_back(const PprofEnv *env, const uint8_t *pack, size_t len, const uint8_t *const *raws,
				const size_t *lens, uint32_t n)
{
	PprofPack	p;
	PprofError	err;
	bool		same;

	if (pprof_pack_open(env, pack, len, &p, &err) != PPROF_OK)
		return false;
	same = p.count == n;
	for (uint32_t i = 0; same && i < n; i++)
	{
		const uint8_t *e;
		size_t		elen;

		pprof_pack_entry(&p, i, &e, &elen);
		same = elen == lens[i] && (elen == 0 || memcmp(e, raws[i], elen) == 0);
	}
	pprof_free(env, p.content);
	pprof_free(env, p.offsets);
	return same;
}

/*
 * Builds the pack, then opens it and compares every profile with what went
 * in before handing it out: packing deletes the rows it packed, so a pack
 * that would not give them back must never be written. One that does not
 * (a bug of the split layout) is built again in 0.9.0's layout; if that
 * fails too, nothing is packed (PPROF_INTERNAL). The check costs an open
 * (about a tenth of a build at level 9).
 */
PprofStatus
pprof_pack_build(const PprofEnv *env, const uint8_t *const *raws, const size_t *lens,
				 uint32_t n, int level, unsigned options, uint8_t **out, size_t *outlen, PprofError *err)
{
	PprofStatus st = pack_build_once(env, raws, lens, n, level, options, out, outlen, err);

	if (st != PPROF_OK || pack_gives_back(env, *out, *outlen, raws, lens, n))
		return st;
	pprof_free(env, *out);
	if (!(options & PPROF_PACK_PLAIN))
	{
		st = pack_build_once(env, raws, lens, n, level, options | PPROF_PACK_PLAIN, out, outlen, err);
		if (st != PPROF_OK || pack_gives_back(env, *out, *outlen, raws, lens, n))
			return st;
		pprof_free(env, *out);
	}
	return pprof_error(err, PPROF_INTERNAL,
					   "A pack of %u profiles did not give them back as they went in; nothing was packed.", n);
}

PprofStatus
pprof_pack_open(const PprofEnv *env, const uint8_t *pack, size_t len, PprofPack *out,
				PprofError *err)
{
	PprofStatus st;
	size_t		size,
				head,
				nfields = 0,
				data = 0,
				streams = 0,
				ord,
				o,
				w = 0;
	size_t		at[PACK_STREAMS],
				end[PACK_STREAMS];
	const uint8_t *sp[PACK_STREAMS];
	uint8_t    *split[PACK_STREAMS] = {0};
	uint8_t    *buf,
			   *res;
	uint32_t	count,
				i;
	uint32_t   *parts = NULL;

	memset(out, 0, sizeof(*out));
	if (len < PPROF_PACK_HDRSZ || pack[0] != PPROF_PACK_V1 || (pack[1] & ~PACK_SPLIT_FLAGS) != 0)
		return pprof_error(err, PPROF_MALFORMED, "The pack has an unknown format (version byte %d).",
						   len > 0 ? pack[0] : -1);
	st = pprof_zstd_frame_decode(env, pack + PPROF_PACK_HDRSZ, len - PPROF_PACK_HDRSZ, "pack",
								 &buf, &size, err);
	if (st != PPROF_OK)
		return st;
	if (size < 4 + PACK_STREAMS * 4)
		return pprof_error(err, PPROF_MALFORMED, "The pack is corrupt: %zu bytes of content.", size);
	count = pack_get_u32(buf);
	if ((size - 4 - PACK_STREAMS * 4) / 8 < count)
		return pprof_error(err, PPROF_MALFORMED,
						   "The pack is corrupt: it claims %u profiles in %zu bytes.", count, size);
	head = 4 + (size_t) count * 8 + PACK_STREAMS * 4;
	for (i = 0; i < count; i++)
	{
		data += pack_get_u32(buf + 4 + (size_t) i * 4);
		nfields += pack_get_u32(buf + 4 + (size_t) count * 4 + (size_t) i * 4);
	}
	for (int s = 0; s < PACK_STREAMS; s++)
		streams += pack_get_u32(buf + 4 + (size_t) count * 8 + (size_t) s * 4);
	if (nfields > size || streams > size || head + nfields + streams != size)
		return pprof_error(err, PPROF_MALFORMED,
						   "The pack is corrupt: its sizes do not add up to its %zu bytes.", size);
	/* each stream: in place, or put back from its split form (the samples' by profile) */
	if (pack[1] & 1)
		parts = stream_parts(env, buf, count, head, 2);
	o = head + nfields;
	streams = 0;
	for (int s = 0; s < PACK_STREAMS; s++)
	{
		size_t		l = pack_get_u32(buf + 4 + (size_t) count * 8 + (size_t) s * 4);

		sp[s] = buf + o;
		at[s] = 0;
		end[s] = l;
		if (s >= 2 && s <= 5 && (pack[1] & (1 << (s - 2))))
		{
			st = pprof_pack_sub_decode(env, buf + o, l, s, s == 2 ? parts : NULL, s == 2 ? count : 0,
									   &split[s], &end[s], err);
			if (st != PPROF_OK)
				return st;
			sp[s] = split[s];
		}
		o += l;
		streams += end[s];
		if (streams > env->max_size)
			return pprof_error(err, PPROF_TOO_LARGE, "The pack holds more than the limit of %zu bytes.",
							   env->max_size);
	}
	if (streams != data)
		return pprof_error(err, PPROF_MALFORMED,
						   "The pack is corrupt: its sizes do not add up to its %zu bytes.", size);
	res = pprof_alloc(env, data > 0 ? data : 1);
	out->offsets = pprof_alloc_array(env, (size_t) count + 1, sizeof(size_t));
	ord = head;
	for (i = 0; i < count; i++)
	{
		uint32_t	nf = pack_get_u32(buf + 4 + (size_t) count * 4 + (size_t) i * 4);
		size_t		start = w;

		out->offsets[i] = w;
		for (uint32_t f = 0; f < nf; f++)
		{
			int			s = buf[ord++],
						s2;
			size_t		l;

			if (s >= PACK_STREAMS ||
				(l = field_len(sp[s], end[s], at[s], &s2)) == 0 || s2 != s)
				return pprof_error(err, PPROF_MALFORMED,
								   "The pack is corrupt: field %u of profile %u does not read.", f + 1, i + 1);
			memcpy(res + w, sp[s] + at[s], l);
			at[s] += l;
			w += l;
		}
		if (w - start != pack_get_u32(buf + 4 + (size_t) i * 4))
			return pprof_error(err, PPROF_MALFORMED,
							   "The pack is corrupt: profile %u of %u is not the size it says.", i + 1, count);
		if ((i & 63) == 0)
			pprof_tick(env);
	}
	out->offsets[count] = w;
	pprof_free(env, buf);
	pprof_free(env, parts);
	for (int s = 0; s < PACK_STREAMS; s++)
		pprof_free(env, split[s]);
	out->count = count;
	out->content = res;
	out->content_len = w;
	return PPROF_OK;
}
