/*-------------------------------------------------------------------------
 *
 * pbwrite.h
 *	  Writing protobuf into a PprofBuf: varints, varint fields (omitted
 *	  when zero, as proto3 and Go's encoder do) and the key and length of
 *	  length-delimited fields. Shared by the merged profile's encoder
 *	  (encode.c) and the collapsed-stack converter (folded.c).
 *
 * src/engine/pbwrite.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_PBWRITE_H
#define PPROF_PBWRITE_H

#include <stdint.h>

#include "buf.h"

static inline size_t
varint_size(uint64_t v)
{
	size_t		n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

static inline void
put_varint(PprofBuf *w, uint64_t v)
{
	pprof_buf_reserve(w, 10);
	while (v >= 0x80)
	{
		w->data[w->len++] = (char) (uint8_t) (v | 0x80);
		v >>= 7;
	}
	w->data[w->len++] = (char) (uint8_t) v;
}

/* A varint field, omitted when zero (proto3). */
static inline void
put_field(PprofBuf *w, uint32_t field, uint64_t v)
{
	if (v == 0)
		return;
	put_varint(w, (uint64_t) field << 3);
	put_varint(w, v);
}

static inline size_t
field_size(uint32_t field, uint64_t v)
{
	return v == 0 ? 0 : varint_size((uint64_t) field << 3) + varint_size(v);
}

/* The key and length of a length-delimited field. */
static inline void
put_header(PprofBuf *w, uint32_t field, size_t len)
{
	put_varint(w, (uint64_t) field << 3 | 2);
	put_varint(w, len);
}

#endif							/* PPROF_PBWRITE_H */
