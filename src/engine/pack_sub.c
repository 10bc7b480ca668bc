/*-------------------------------------------------------------------------
 *
 * pack_sub.c
 *	  Splitting a pack's message streams by sub-field (pack_sub.h).
 *
 * A split stream:
 *   byte 0      flags: SUB_HEAD_SHORT (every message's tag and length are
 *               in shortest form and left out), SUB_DELTA_IDS (sub-field 1
 *               varints as zigzag differences from the previous message's),
 *               SUB_PLANES (every distinct stack is ids under 2^16 in
 *               shortest varints: stored as their count, then each id's low
 *               byte in one sub-stream and its high byte in another, which
 *               zstd's level 9 models better than varints: the large
 *               synthetic CPU profile 0.414x → 0.39x);
 *               SUB_CTX (0.9.2, with SUB_PLANES only: each distinct
 *               stack's ids as symbols over the id before each, pack_ctx.h,
 *               in sub-stream SUB_CTXSYM; the planes hold only the ids a
 *               symbol does not give. Taken when zstd at level 1 makes it
 *               the smaller: the large synthetic CPU profile 0.394x →
 *               0.350x)
 *   byte 1      the field stored once per distinct value (0: none)
 *   uint32      number of messages
 *   uint32      size of the stream put back
 *   SUB_COUNT x uint32  sub-stream sizes (SUB_CTXSYM's only with SUB_CTX:
 *               0.9.1 wrote one fewer), then the sub-streams in order
 *
 * A pack's profiles number their locations each on their own: the coder
 * starts anew at each profile's first message (the caller's parts).
 *
 * Why our own code: this is a layout of pprof's messages for zstd, not a
 * general codec; the nearest libraries (columnar protobuf encoders) need
 * a schema and do not give the bytes back as they came.
 *
 * src/engine/pack_sub.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "pack.h"
#include "pack_ctx.h"
#include "pack_sub.h"
#include "packfmt.h"
#include "pbwrite.h"
#include "store.h"

enum
{
	SUB_HEAD,					/* messages' tag and length, when not shortest */
	SUB_NF,						/* each message's number of fields */
	SUB_SHAPE,					/* each field's tag, and length (wire type 2) */
	SUB_REF,					/* the dedup field: 0 new, k the k-th distinct one */
	SUB_STK,					/* the dedup field's distinct values (low bytes with SUB_PLANES) */
	SUB_STK_HI,					/* with SUB_PLANES, their high bytes */
	SUB_DELTA,					/* sub-field 1 varints, as differences */
	SUB_F0,						/* one per sub-field number 1..15; + 0: any other */
	SUB_CTXSYM = SUB_F0 + 16,	/* with SUB_CTX, the symbols of pack_ctx.h */
	SUB_COUNT
};

#define SUB_HEAD_SHORT	0x01
#define SUB_DELTA_IDS	0x02
#define SUB_PLANES		0x04
#define SUB_CTX			0x08
#define SUB_FLAGS		0x0f
/* the header: flags, dedup field, messages, size, then the sub-streams' sizes */
#define SUB_NSUB(flags)	((flags) & SUB_CTX ? SUB_COUNT : SUB_CTXSYM)
#define SUB_HDR(flags)	(2 + 4 + 4 + SUB_NSUB(flags) * 4)
#define SUB_GAP			20		/* a tag and a length: two varints of 10 bytes at most */

static inline int
sub_slot(uint64_t fno)
{
	return SUB_F0 + (fno < 16 ? (int) fno : 0);
}

static inline uint64_t
zigzag(uint64_t d)
{
	return (d << 1) ^ (uint64_t) -(int64_t) (d >> 63);
}

static inline uint64_t
unzigzag(uint64_t z)
{
	return (z >> 1) ^ (uint64_t) -(int64_t) (z & 1);
}

static inline uint64_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

/*
 * Whether the varint p[v0..at), read as v, is the one put_varint writes
 * for v: shortest, and not ten bytes whose last carries bits past 64 (the
 * reader drops them; fuzz_decode found it).
 */
static inline bool
canonical_varint(const uint8_t *p, size_t v0, size_t at, uint64_t v)
{
	return at - v0 == varint_size(v) && (at - v0 < 10 || p[at - 1] == 0x01);
}

/*
 * Whether a dedup value (its length's varint at p[v0..at), the value
 * p[at..at + n)) is shortest varints under 2^16 behind a shortest length:
 * what SUB_PLANES stores as two byte planes.
 */
static bool
plane_ok(const uint8_t *p, size_t v0, size_t at, size_t n)
{
	size_t		end = at + n;

	if (at - v0 != varint_size(n))
		return false;
	while (at < end)
	{
		size_t		i0 = at;
		uint64_t	id;

		if (!pack_read_varint(p, end, &at, &id) || id >= 65536 || at - i0 != varint_size(id))
			return false;
	}
	return true;
}

/*
 * Reads one message's fields (p[0..len)): false unless they read whole.
 * Counts the sub-field 1 varints, whether they are all shortest, the
 * dedup field's values and whether they all suit SUB_PLANES.
 */
static bool
sub_check(const uint8_t *p, size_t len, int dedup_field, size_t *nids, bool *ids_short, size_t *ndedup,
		  bool *planes)
{
	size_t		at = 0;

	while (at < len)
	{
		uint64_t	tag,
					v;
		size_t		v0;

		if (!pack_read_varint(p, len, &at, &tag))
			return false;
		switch (tag & 7)
		{
			case 0:
				v0 = at;
				if (!pack_read_varint(p, len, &at, &v))
					return false;
				if ((tag >> 3) == 1)
				{
					(*nids)++;
					if (!canonical_varint(p, v0, at, v))
						*ids_short = false;
				}
				break;
			case 1:
			case 5:
				if (len - at < ((tag & 7) == 1 ? 8u : 4u))
					return false;
				at += (tag & 7) == 1 ? 8 : 4;
				break;
			case 2:
				v0 = at;
				if (!pack_read_varint(p, len, &at, &v) || v > len - at)
					return false;
				if (dedup_field != 0 && (tag >> 3) == (uint64_t) dedup_field)
				{
					(*ndedup)++;
					if (*planes && !plane_ok(p, v0, at, (size_t) v))
						*planes = false;
				}
				at += (size_t) v;
				break;
			default:
				return false;
		}
	}
	return true;
}

/*
 * At the first message of each part (parts[*pi] messages a part; they may
 * be fewer than the stream's): starts the coder anew. *next: the message
 * that starts the next part.
 */
static inline void
part_step(PackCtx *ctx, size_t m, const uint32_t *parts, uint32_t nparts, uint32_t *pi, size_t *next)
{
	while (*pi < nparts && m == *next)
	{
		pack_ctx_reset(ctx);
		*next += parts[(*pi)++];
	}
}

/* The size zstd's level 1 makes of the buffers (an estimate of what they cost in the pack). */
static size_t
zsize(const PprofEnv *env, const PprofBuf *bufs, int n)
{
	size_t		sum = 0;

	for (int i = 0; i < n; i++)
	{
		uint8_t    *z;
		size_t		zl;
		PprofError	err;

		if (bufs[i].len == 0)
			continue;
		if (pprof_zstd_frame_encode(env, PPROF_PACK_V1, (const uint8_t *) bufs[i].data, bufs[i].len, 1,
									&z, &zl, &err) != PPROF_OK)
			return SIZE_MAX;
		pprof_free(env, z);
		sum += zl;
	}
	return sum;
}

bool
pprof_pack_sub_encode(const PprofEnv *env, const uint8_t *raw, size_t len, int field,
					  int dedup_field, const uint32_t *parts, uint32_t nparts,
					  uint8_t **out, size_t *outlen)
{
	const uint64_t want = (uint64_t) field << 3 | 2;
	size_t		pos = 0,
				nmsgs = 0,
				nids = 0,
				ndedup = 0,
				total;
	bool		head_short = true,
				ids_short = true,
				planes = true;
	PprofBuf	sub[SUB_COUNT];
	PprofBuf	cx[2];			/* SUB_CTX's planes: the ids no symbol gives */
	PackCtx		ctx;
	uint32_t	pi = 0;
	size_t		next_part = 0;
	uint32_t   *table = NULL;	/* open addressing: 1 + index into ents */
	size_t		tmask = 0,
				nents = 0;
	size_t	   *ent_off = NULL,
			   *ent_len = NULL;
	uint64_t	prev = 0;
	uint8_t		flags;
	uint8_t    *res;

	if (len > UINT32_MAX)
		return false;
	/* first pass: does it read, and how */
	while (pos < len)
	{
		size_t		h0 = pos;
		uint64_t	tag,
					l;

		if (!pack_read_varint(raw, len, &pos, &tag) || tag != want ||
			!pack_read_varint(raw, len, &pos, &l) || l > len - pos)
			return false;
		if (pos - h0 != varint_size(tag) + varint_size(l))
			head_short = false;
		if (!sub_check(raw + pos, (size_t) l, dedup_field, &nids, &ids_short, &ndedup, &planes))
			return false;
		pos += (size_t) l;
		if ((++nmsgs & 1023) == 0)
			pprof_tick(env);
	}
	flags = (head_short ? SUB_HEAD_SHORT : 0) | (ids_short && nids > 0 ? SUB_DELTA_IDS : 0) |
		(planes && ndedup > 0 ? SUB_PLANES : 0);
	for (int k = 0; k < SUB_COUNT; k++)
		pprof_buf_init(&sub[k], env, 64);
	if (flags & SUB_PLANES)
	{
		pprof_buf_init(&cx[0], env, 64);
		pprof_buf_init(&cx[1], env, 64);
		pack_ctx_init(&ctx, env);
	}
	if (ndedup > 0)
	{
		size_t		cap = 16;

		while (cap < 2 * ndedup)
			cap <<= 1;
		table = pprof_alloc0_array(env, cap, sizeof(uint32_t));
		tmask = cap - 1;
		ent_off = pprof_alloc_array(env, ndedup, sizeof(size_t));
		ent_len = pprof_alloc_array(env, ndedup, sizeof(size_t));
	}
	/* second pass: each part to its sub-stream */
	pos = 0;
	for (size_t m = 0; m < nmsgs; m++)
	{
		size_t		h0 = pos,
					at,
					end,
					nf = 0;
		uint64_t	tag = 0,
					l = 0;

		if (flags & SUB_PLANES)
			part_step(&ctx, m, parts, nparts, &pi, &next_part);
		(void) pack_read_varint(raw, len, &pos, &tag);
		(void) pack_read_varint(raw, len, &pos, &l);
		if (!head_short)
			pprof_buf_append(&sub[SUB_HEAD], raw + h0, pos - h0);
		at = pos;
		end = pos + (size_t) l;
		while (at < end)
		{
			size_t		t0 = at,
						v0;
			uint64_t	t = 0,
						v = 0;
			int			slot;

			(void) pack_read_varint(raw, end, &at, &t);
			pprof_buf_append(&sub[SUB_SHAPE], raw + t0, at - t0);
			slot = sub_slot(t >> 3);
			nf++;
			switch (t & 7)
			{
				case 0:
					v0 = at;
					(void) pack_read_varint(raw, end, &at, &v);
					if ((t >> 3) == 1 && (flags & SUB_DELTA_IDS))
					{
						put_varint(&sub[SUB_DELTA], zigzag(v - prev));
						prev = v;
					}
					else
						pprof_buf_append(&sub[slot], raw + v0, at - v0);
					break;
				case 1:
				case 5:
					pprof_buf_append(&sub[slot], raw + at, (t & 7) == 1 ? 8 : 4);
					at += (t & 7) == 1 ? 8 : 4;
					break;
				default:		/* 2: sub_check let nothing else through */
					v0 = at;
					(void) pack_read_varint(raw, end, &at, &v);
					if (dedup_field != 0 && (t >> 3) == (uint64_t) dedup_field)
					{
						bool		shortest = at - v0 == varint_size(v);
						uint64_t	hv = hash_bytes(raw + at, (size_t) v);
						size_t		i = (size_t) hv & tmask;
						uint32_t	found = 0;

						for (; table[i] != 0; i = (i + 1) & tmask)
						{
							size_t		e = table[i] - 1;

							if (ent_len[e] == v && memcmp(raw + ent_off[e], raw + at, (size_t) v) == 0)
							{
								found = table[i];
								break;
							}
						}
						if (shortest && found != 0)
						{
							/* named: the length comes back from the value named */
							put_varint(&sub[SUB_REF], found);
							at += (size_t) v;
							break;
						}
						put_varint(&sub[SUB_REF], 0);
						if (flags & SUB_PLANES)
						{
							/* the number of ids, then each id's low and high byte */
							size_t		i0 = at,
										cnt = 0;
							uint64_t	id = 0;
							uint32_t	before = 0;

							while (i0 < at + v)
							{
								uint64_t	sym;

								(void) pack_read_varint(raw, at + v, &i0, &id);
								pprof_buf_putc(&sub[SUB_STK], (char) (uint8_t) id);
								pprof_buf_putc(&sub[SUB_STK_HI], (char) (uint8_t) (id >> 8));
								/* and SUB_CTX's way, to keep the smaller */
								sym = pack_ctx_encode(&ctx, before, (uint32_t) id);
								put_varint(&sub[SUB_CTXSYM], sym);
								if (sym == 0)
								{
									pprof_buf_putc(&cx[0], (char) (uint8_t) id);
									pprof_buf_putc(&cx[1], (char) (uint8_t) (id >> 8));
								}
								before = (uint32_t) id;
								cnt++;
							}
							put_varint(&sub[SUB_SHAPE], cnt);
						}
						else
						{
							pprof_buf_append(&sub[SUB_SHAPE], raw + v0, at - v0);
							pprof_buf_append(&sub[SUB_STK], raw + at, (size_t) v);
						}
						if (shortest && found == 0)
						{
							ent_off[nents] = at;
							ent_len[nents] = (size_t) v;
							table[i] = (uint32_t) ++nents;
						}
					}
					else
					{
						pprof_buf_append(&sub[SUB_SHAPE], raw + v0, at - v0);
						pprof_buf_append(&sub[slot], raw + at, (size_t) v);
					}
					at += (size_t) v;
					break;
			}
		}
		put_varint(&sub[SUB_NF], nf);
		pos = end;
		if ((m & 1023) == 1023)
			pprof_tick(env);
	}
	if (flags & SUB_PLANES)
	{
		PprofBuf	with[3] = {cx[0], cx[1], sub[SUB_CTXSYM]};

		if (zsize(env, with, 3) < zsize(env, &sub[SUB_STK], 2))
		{
			/* the symbols, and the planes of the ids they do not give */
			PprofBuf	t0 = sub[SUB_STK],
						t1 = sub[SUB_STK_HI];

			sub[SUB_STK] = cx[0];
			sub[SUB_STK_HI] = cx[1];
			cx[0] = t0;
			cx[1] = t1;
			flags |= SUB_CTX;
		}
		pprof_free(env, cx[0].data);
		pprof_free(env, cx[1].data);
		pack_ctx_free(&ctx);
	}
	if (!(flags & SUB_CTX))
		sub[SUB_CTXSYM].len = 0;
	total = SUB_HDR(flags);
	for (int k = 0; k < SUB_NSUB(flags); k++)
		total += sub[k].len;
	res = pprof_alloc(env, total);
	res[0] = flags;
	res[1] = (uint8_t) dedup_field;
	pack_put_u32(res + 2, (uint32_t) nmsgs);
	pack_put_u32(res + 6, (uint32_t) len);
	pos = SUB_HDR(flags);
	for (int k = 0; k < SUB_COUNT; k++)
	{
		if (k < SUB_NSUB(flags))
		{
			pack_put_u32(res + 10 + k * 4, (uint32_t) sub[k].len);
			memcpy(res + pos, sub[k].data, sub[k].len);
			pos += sub[k].len;
		}
		pprof_free(env, sub[k].data);
	}
	pprof_free(env, table);
	pprof_free(env, ent_off);
	pprof_free(env, ent_len);
	*out = res;
	*outlen = total;
	return true;
}

/* Writes v as a shortest varint at p[*w] (room for cap bytes); false when it does not fit. */
static inline bool
put_varint_at(uint8_t *restrict p, size_t cap, size_t *restrict w, uint64_t v)
{
	size_t		o = *w;

	if (cap - o < varint_size(v))
		return false;
	while (v >= 0x80)
	{
		p[o++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	p[o++] = (uint8_t) v;
	*w = o;
	return true;
}

/* Copies n bytes from sub-stream k (cursor cur[k], end lim[k]) to p[*w]; false when either runs out. */
static inline bool
take(const uint8_t *restrict blob, size_t *restrict cur, const size_t *restrict lim, int k, size_t n,
	 uint8_t *restrict p, size_t cap, size_t *restrict w)
{
	size_t		i = cur[k],
				o = *w;

	if (lim[k] - i < n || cap - o < n)
		return false;
	if (n <= 8)
		for (size_t j = 0; j < n; j++)
			p[o + j] = blob[i + j];
	else
		memcpy(p + o, blob + i, n);
	cur[k] = i + n;
	*w = o + n;
	return true;
}

/* Reads a varint of sub-stream k, copying its bytes to p[*w] as they are (one pass: the hot path of opening). */
static inline bool
take_varint(const uint8_t *restrict blob, size_t *restrict cur, const size_t *restrict lim, int k,
			uint64_t *restrict v, uint8_t *restrict p, size_t cap, size_t *restrict w)
{
	size_t		i = cur[k],
				o = *w,
				end = lim[k];
	uint64_t	r = 0;

	if (i < end && o < cap && blob[i] < 0x80)
	{
		/* most tags, lengths and values are one byte */
		*v = p[o] = blob[i];
		cur[k] = i + 1;
		*w = o + 1;
		return true;
	}
	for (int shift = 0; shift < 70; shift += 7)
	{
		uint8_t		c;

		if (i >= end || o >= cap)
			return false;
		c = blob[i++];
		p[o++] = c;
		r |= (uint64_t) (c & 0x7f) << shift;
		if (c < 0x80)
		{
			cur[k] = i;
			*w = o;
			*v = r;
			return true;
		}
	}
	return false;
}

/* Writes id (< 2^16) as a shortest varint at o; returns its size. */
static inline size_t
put_id16(uint8_t *restrict o, unsigned id)
{
	if (id < 128)
	{
		o[0] = (uint8_t) id;
		return 1;
	}
	o[0] = (uint8_t) (id | 0x80);
	if (id < 16384)
	{
		o[1] = (uint8_t) (id >> 7);
		return 2;
	}
	o[1] = (uint8_t) ((id >> 7) | 0x80);
	o[2] = (uint8_t) (id >> 14);
	return 3;
}

/*
 * A new distinct stack of l bytes: its length written at msg[*s], room
 * left for it, and its place noted for later samples that name it.
 */
static inline bool
stack_head(uint8_t *msg, size_t mcap, size_t *s, size_t l, size_t *ent_off, size_t *ent_len,
		   size_t *nents, size_t ent_cap)
{
	if (!put_varint_at(msg, mcap, s, l) || mcap - *s < l)
		return false;
	if (*nents < ent_cap)
	{
		ent_off[*nents] = *s;
		ent_len[(*nents)++] = l;
	}
	return true;
}

PprofStatus
pprof_pack_sub_decode(const PprofEnv *env, const uint8_t *blob, size_t len, int field,
					  const uint32_t *parts, uint32_t nparts, uint8_t **raw, size_t *rawlen,
					  PprofError *err)
{
	const uint64_t want = (uint64_t) field << 3 | 2;
	uint8_t		flags,
				dedup;
	uint32_t	nmsgs;
	size_t		size,
				sum = 0,
				w = 0,
				nents = 0,
				ent_cap;
	size_t		cur[SUB_COUNT],
				lim[SUB_COUNT];
	size_t	   *ent_off = NULL,		/* where each distinct value is: in res, or in msg for this message's */
			   *ent_len = NULL;
	uint8_t    *res,
			   *msg;
	uint64_t	prev = 0;
	PackCtx		ctx;
	uint16_t   *ids = NULL;		/* with SUB_CTX, a stack's ids before they are written */
	uint32_t	pi = 0;
	size_t		next_part = 0;

#define CORRUPT(what) \
	pprof_error(err, PPROF_MALFORMED, "The pack is corrupt: its split stream of field %d %s.", field, what)

	if (len < SUB_HDR(0))
		return CORRUPT("is cut short");
	flags = blob[0];
	dedup = blob[1];
	nmsgs = pack_get_u32(blob + 2);
	size = pack_get_u32(blob + 6);
	if ((flags & ~SUB_FLAGS) != 0 || dedup >= 16 || ((flags & SUB_CTX) && !(flags & SUB_PLANES)))
		return CORRUPT("has unknown flags");
	if (len < SUB_HDR(flags))
		return CORRUPT("is cut short");
	if (size > env->max_size)
		return pprof_error(err, PPROF_TOO_LARGE, "The pack holds more than the limit of %zu bytes.", env->max_size);
	for (int k = 0; k < SUB_COUNT; k++)
	{
		size_t		n = k < SUB_NSUB(flags) ? pack_get_u32(blob + 10 + k * 4) : 0;

		cur[k] = SUB_HDR(flags) + sum;
		sum += n;
		lim[k] = SUB_HDR(flags) + sum;
	}
	if (sum != len - SUB_HDR(flags))
		return CORRUPT("has sizes that do not add up");
	/* each message is put together SUB_GAP bytes ahead, then moved behind its tag and length */
	res = pprof_alloc(env, size + SUB_GAP);
	ent_cap = lim[SUB_REF] - cur[SUB_REF];	/* a reference takes a byte at least */
	if (dedup != 0 && ent_cap > 0)
	{
		ent_off = pprof_alloc_array(env, ent_cap, sizeof(*ent_off));
		ent_len = pprof_alloc_array(env, ent_cap, sizeof(*ent_len));
	}
	if (flags & SUB_CTX)
	{
		/* a symbol takes a byte at least */
		ids = pprof_alloc_array(env, lim[SUB_CTXSYM] - cur[SUB_CTXSYM] + 1, sizeof(uint16_t));
		pack_ctx_init(&ctx, env);
	}
	for (uint32_t m = 0; m < nmsgs; m++)
	{
		uint64_t	nf,
					tag,
					l;
		size_t		s = 0,
					gap,
					hw = w,
					mcap = size - w,	/* room for the message's fields */
					msg_ents = nents;	/* the values this message adds start here */

		/* shortest heads: a one-byte tag and, for a message under 128 bytes, a one-byte length */
		gap = (flags & SUB_HEAD_SHORT) ? 2 : SUB_GAP;
		msg = res + w + gap;
		if (flags & SUB_CTX)
			part_step(&ctx, m, parts, nparts, &pi, &next_part);

		if (!pack_read_varint(blob, lim[SUB_NF], &cur[SUB_NF], &nf))
			return CORRUPT("runs out of messages");
		for (uint64_t f = 0; f < nf; f++)
		{
			uint64_t	t,
						v;
			size_t		t0;
			int			slot;

			if (!take_varint(blob, cur, lim, SUB_SHAPE, &t, msg, mcap, &s))
				return CORRUPT("runs out of fields");
			slot = sub_slot(t >> 3);
			switch (t & 7)
			{
				case 0:
					if ((t >> 3) == 1 && (flags & SUB_DELTA_IDS))
					{
						if (!pack_read_varint(blob, lim[SUB_DELTA], &cur[SUB_DELTA], &v))
							return CORRUPT("runs out of ids");
						prev += unzigzag(v);
						if (!put_varint_at(msg, mcap, &s, prev))
							return CORRUPT("has a message larger than the stream");
					}
					else if (!take_varint(blob, cur, lim, slot, &v, msg, mcap, &s))
						return CORRUPT("runs out of varints");
					break;
				case 1:
				case 5:
					if (!take(blob, cur, lim, slot, (t & 7) == 1 ? 8 : 4, msg, mcap, &s))
						return CORRUPT("runs out of fixed-size values");
					break;
				case 2:
					if (dedup != 0 && (t >> 3) == dedup)
					{
						if (!pack_read_varint(blob, lim[SUB_REF], &cur[SUB_REF], &v))
							return CORRUPT("runs out of references");
						if (v > 0)
						{
							const uint8_t *from;

							if (v > nents)
								return CORRUPT("names a value it does not hold");
							/* a value of this message is still in msg, an earlier one in res */
							from = (v - 1 >= msg_ents ? msg : res) + ent_off[v - 1];
							if (!put_varint_at(msg, mcap, &s, ent_len[v - 1]) || mcap - s < ent_len[v - 1])
								return CORRUPT("has a message larger than the stream");
							memcpy(msg + s, from, ent_len[v - 1]);
							s += ent_len[v - 1];
							break;
						}
						if (flags & SUB_CTX)
						{
							uint32_t	before = 0;

							if (!pack_read_varint(blob, lim[SUB_SHAPE], &cur[SUB_SHAPE], &v) ||
								lim[SUB_CTXSYM] - cur[SUB_CTXSYM] < v)
								return CORRUPT("runs out of values");
							/* ids under 2^16: 1 to 3 bytes each */
							l = v;
							for (uint64_t j = 0; j < v; j++)
							{
								uint64_t	sym;
								uint32_t	id = 0;

								if (!pack_read_varint(blob, lim[SUB_CTXSYM], &cur[SUB_CTXSYM], &sym))
									return CORRUPT("runs out of stacks");
								if (sym == 0)
								{
									if (cur[SUB_STK] >= lim[SUB_STK] || cur[SUB_STK_HI] >= lim[SUB_STK_HI])
										return CORRUPT("runs out of values");
									id = blob[cur[SUB_STK]++] | (uint32_t) blob[cur[SUB_STK_HI]++] << 8;
								}
								if (!pack_ctx_decode(&ctx, before, sym, &id))
									return CORRUPT("has a stack that names an id it has not given");
								ids[j] = (uint16_t) id;
								before = id;
								l += (id >= 128) + (id >= 16384);
							}
							if (!stack_head(msg, mcap, &s, l, ent_off, ent_len, &nents, ent_cap))
								return CORRUPT("has a message larger than the stream");
							for (uint64_t j = 0; j < v; j++)
								s += put_id16(msg + s, ids[j]);
							break;
						}
						if (flags & SUB_PLANES)
						{
							size_t		lo = cur[SUB_STK],
										hi = cur[SUB_STK_HI];

							if (!pack_read_varint(blob, lim[SUB_SHAPE], &cur[SUB_SHAPE], &v) ||
								lim[SUB_STK] - lo < v || lim[SUB_STK_HI] - hi < v)
								return CORRUPT("runs out of values");
							/* ids under 2^16: 1 to 3 bytes each */
							l = v;
							for (uint64_t j = 0; j < v; j++)
							{
								unsigned	id = blob[lo + j] | (unsigned) blob[hi + j] << 8;

								l += (id >= 128) + (id >= 16384);
							}
							if (!stack_head(msg, mcap, &s, l, ent_off, ent_len, &nents, ent_cap))
								return CORRUPT("has a message larger than the stream");
							for (uint64_t j = 0; j < v; j++)
								s += put_id16(msg + s, blob[lo + j] | (unsigned) blob[hi + j] << 8);
							cur[SUB_STK] += (size_t) v;
							cur[SUB_STK_HI] += (size_t) v;
							break;
						}
						t0 = cur[SUB_SHAPE];
						if (!take_varint(blob, cur, lim, SUB_SHAPE, &l, msg, mcap, &s) ||
							lim[SUB_STK] - cur[SUB_STK] < l)
							return CORRUPT("runs out of values");
						if (cur[SUB_SHAPE] - t0 == varint_size(l) && nents < ent_cap)
						{
							ent_off[nents] = s;
							ent_len[nents++] = (size_t) l;
						}
						if (!take(blob, cur, lim, SUB_STK, (size_t) l, msg, mcap, &s))
							return CORRUPT("has a message larger than the stream");
					}
					else if (!take_varint(blob, cur, lim, SUB_SHAPE, &l, msg, mcap, &s) ||
							 !take(blob, cur, lim, slot, (size_t) l, msg, mcap, &s))
						return CORRUPT("runs out of values");
					break;
				default:
					return CORRUPT("has a field of an unknown wire type");
			}
		}
		/* the message's own tag and length (two varints: SUB_GAP bytes at most), then its fields */
		if (flags & SUB_HEAD_SHORT)
		{
			/* the fields to their place first: a head longer than the gap (a message of 128 bytes or more) */
			/* overlaps their start (fuzz_decode found it) */
			size_t		hl = varint_size(want) + varint_size(s);

			if (size - w < hl || size - w - hl < s)
				return CORRUPT("is larger than it says");
			if (hl != gap)
				memmove(res + w + hl, msg, s);
			(void) put_varint_at(res, w + hl, &hw, want);
			(void) put_varint_at(res, w + hl, &hw, s);
		}
		else if (!take_varint(blob, cur, lim, SUB_HEAD, &tag, res, w + SUB_GAP, &hw) || tag != want ||
				 !take_varint(blob, cur, lim, SUB_HEAD, &l, res, w + SUB_GAP, &hw) || l != s)
			return CORRUPT("has a message whose length does not match");
		else
		{
			if (size - hw < s)
				return CORRUPT("is larger than it says");
			memmove(res + hw, msg, s);
		}
		for (size_t e = msg_ents; e < nents; e++)
			ent_off[e] += hw;
		w = hw + s;
		if ((m & 1023) == 1023)
			pprof_tick(env);
	}
	for (int k = 0; k < SUB_COUNT; k++)
		if (cur[k] != lim[k])
			return CORRUPT("has bytes left over");
	if (w != size)
		return CORRUPT("is not the size it says");
	pprof_free(env, ent_off);
	pprof_free(env, ent_len);
	if (flags & SUB_CTX)
	{
		pprof_free(env, ids);
		pack_ctx_free(&ctx);
	}
	*raw = res;
	*rawlen = size;
	return PPROF_OK;
#undef CORRUPT
}
