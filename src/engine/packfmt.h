/*-------------------------------------------------------------------------
 *
 * packfmt.h
 *	  Reading a pack's bytes: little-endian uint32s and bounded varints
 *	  (pack.c and pack_sub.c).
 *
 * src/engine/packfmt.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_PACKFMT_H
#define PPROF_PACKFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void
pack_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static inline uint32_t
pack_get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Reads a varint at p[*at] (*at < end); false when cut or longer than 10 bytes. */
static inline bool
pack_read_varint(const uint8_t *p, size_t end, size_t *at, uint64_t *v)
{
	uint64_t	r = 0;

	if (*at < end && p[*at] < 0x80)
	{
		*v = p[(*at)++];		/* one byte: most tags, lengths and ids */
		return true;
	}
	for (int shift = 0; shift < 70 && *at < end; shift += 7)
	{
		uint8_t		c = p[(*at)++];

		r |= (uint64_t) (c & 0x7f) << shift;
		if (c < 0x80)
		{
			*v = r;
			return true;
		}
	}
	return false;
}

#endif							/* PPROF_PACKFMT_H */
