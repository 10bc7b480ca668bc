/*-------------------------------------------------------------------------
 *
 * buf.h
 *	  A growable byte buffer on the environment's allocator: the text and
 *	  SVG the read functions produce, and the protobuf the encoder writes.
 *	  The data is always NUL-terminated (the NUL is not counted in len).
 *
 * src/engine/buf.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_BUF_H
#define PPROF_BUF_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "env.h"

typedef struct PprofBuf
{
	const PprofEnv *env;
	char	   *data;
	size_t		len;
	size_t		cap;			/* bytes allocated, the NUL's included */
} PprofBuf;

static inline void
pprof_buf_init(PprofBuf *b, const PprofEnv *env, size_t cap)
{
	b->env = env;
	b->cap = cap < 64 ? 64 : cap;
	b->data = pprof_alloc(env, b->cap);
	b->len = 0;
	b->data[0] = '\0';
}

/* Room for `more` bytes and the NUL. */
static inline void
pprof_buf_reserve(PprofBuf *b, size_t more)
{
	if (more >= b->cap - b->len)
		b->data = pprof_grow(b->env, b->data, b->len + 1, &b->cap, more, 1);
}

static inline void
pprof_buf_append(PprofBuf *b, const void *p, size_t n)
{
	pprof_buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void
pprof_buf_putc(PprofBuf *b, char c)
{
	pprof_buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

static inline void
pprof_buf_puts(PprofBuf *b, const char *s)
{
	pprof_buf_append(b, s, strlen(s));
}

static inline void
pprof_buf_printf(PprofBuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static inline void
pprof_buf_printf(PprofBuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n >= b->cap - b->len)
	{
		pprof_buf_reserve(b, (size_t) n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t) n;
}

#endif							/* PPROF_BUF_H */
