/*-------------------------------------------------------------------------
 *
 * util.h
 *	  Logging, a growable buffer, and small helpers (util.c).
 *
 * src/collector/util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_UTIL_H
#define PROFEFE_COLLECTOR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum
{
	LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR
};
void		log_msg(int level, const char *fmt,...) __attribute__((format(printf, 2, 3)));
int			log_level_from_name(const char *name);

typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;			/* an allocation failed; contents are unusable */
} Buf;

void		buf_append(Buf *b, const void *p, size_t n);
void		buf_puts(Buf *b, const char *s);
void		buf_printf(Buf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
void		buf_json_string(Buf *b, const char *s, size_t n);
void		buf_free(Buf *b);
bool		utf8_valid(const char *s, size_t n);
int64_t		now_us(void);
void		format_utc_seconds(int64_t unix_secs, char out[32]);
bool		gzip_buf(const void *in, size_t n, int level, Buf *out);
int			gunzip_buf(const void *in, size_t n, size_t max, Buf *out);

#endif
