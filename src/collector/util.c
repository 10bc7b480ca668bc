/*-------------------------------------------------------------------------
 *
 * util.c
 *	  Logging, a growable byte buffer, JSON string escaping and time
 *	  formatting for the collector.
 *
 * src/collector/util.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zlib.h>

#include "settings.h"
#include "util.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
log_level_from_name(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warning") == 0)
		return LOG_WARN;
	return -1;
}

/* One line per message on stderr: time, level, text. */
void
log_msg(int level, const char *fmt,...)
{
	char		line[2048];
	char		ts[32];
	struct timespec now;
	struct tm	tm;
	va_list		ap;
	int			n;

	if (level < settings.log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %-5s ", ts, now.tv_nsec / 1000000, level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* messages quote client input: no control characters reach the log */
	for (char *p = line + n; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			*p = '?';
	/* one write per line so that lines of concurrent threads do not mix */
	fprintf(stderr, "%s\n", line);
}

int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* RFC 3339 UTC, whole seconds: 2019-06-06T00:07:58Z */
void
format_utc_seconds(int64_t unix_secs, char out[32])
{
	time_t		t = (time_t) unix_secs;
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- Buf ---- */

static bool
buf_reserve(Buf *b, size_t extra)
{
	size_t		need;
	char	   *p;

	if (b->failed)
		return false;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	size_t		cap = b->cap ? b->cap : 256;

	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
	{
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void
buf_append(Buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(Buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_printf(Buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

void
buf_free(Buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if the
 * bytes there are not valid UTF-8 (overlongs, surrogates and code points
 * past U+10FFFF included).
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t		len;
	uint32_t	cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < n)
	{
		size_t		len = utf8_seq_len(p + i, n - i);

		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/*
 * A JSON string literal of the bytes s[0..n): quotes, escapes, and U+FFFD
 * for bytes that are not valid UTF-8 (error messages may quote client
 * input, and the reply must stay valid JSON).
 */
void
buf_json_string(Buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	buf_append(b, "\"", 1);
	while (i < n)
	{
		unsigned char c = p[i];
		size_t		len;

		if (c == '"' || c == '\\')
		{
			char		esc[2] = {'\\', (char) c};

			buf_append(b, esc, 2);
			i++;
		}
		else if (c < 0x20)
		{
			switch (c)
			{
				case '\n':
					buf_puts(b, "\\n");
					break;
				case '\r':
					buf_puts(b, "\\r");
					break;
				case '\t':
					buf_puts(b, "\\t");
					break;
				default:
					buf_printf(b, "\\u%04x", c);
			}
			i++;
		}
		else if ((len = utf8_seq_len(p + i, n - i)) == 0)
		{
			buf_puts(b, "\\ufffd");
			i++;
		}
		else
		{
			buf_append(b, p + i, len);
			i += len;
		}
	}
	buf_append(b, "\"", 1);
}

/*
 * gzip of n bytes into out (emptied first); false, out freed, when zlib
 * fails or memory runs out.
 */
bool
gzip_buf(const void *in, size_t n, int level, Buf *out)
{
	z_stream	z = {0};
	size_t		cap = n / 3 + 1024;
	int			rc;

	buf_free(out);
	if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	z.next_in = (Bytef *) in;
	z.avail_in = (uInt) n;		/* replies are under 4 GB: -max-body and the database cap them */
	do
	{
		if (out->cap - out->len < 64 * 1024)
		{
			char	   *p = realloc(out->data, out->cap + cap);

			if (p == NULL)
			{
				deflateEnd(&z);
				buf_free(out);
				return false;
			}
			out->data = p;
			out->cap += cap;
		}
		z.next_out = (Bytef *) out->data + out->len;
		z.avail_out = (uInt) (out->cap - out->len);
		rc = deflate(&z, Z_FINISH);
		out->len = out->cap - z.avail_out;
	} while (rc == Z_OK || rc == Z_BUF_ERROR);
	deflateEnd(&z);
	if (rc != Z_STREAM_END)
	{
		buf_free(out);
		return false;
	}
	return true;
}

/*
 * The gzip (or zlib) stream in[0..n) decompressed into out (emptied
 * first), at most max bytes. 0 on success; -1 not gzip or corrupt, -2
 * larger than max, -3 out of memory (out freed on any failure).
 */
int
gunzip_buf(const void *in, size_t n, size_t max, Buf *out)
{
	z_stream	z = {0};
	int			rc;

	buf_free(out);
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return -3;
	z.next_in = (Bytef *) in;
	z.avail_in = (uInt) n;		/* bodies are under 4 GB: -max-body caps them */
	do
	{
		if (out->cap - out->len < 64 * 1024)
		{
			size_t		grow = out->cap < 256 * 1024 ? 256 * 1024 : out->cap;
			char	   *p;

			if (out->len >= max + 1)
			{
				rc = -2;
				goto fail;
			}
			if ((p = realloc(out->data, out->cap + grow + 1)) == NULL)
			{
				rc = -3;
				goto fail;
			}
			out->data = p;
			out->cap += grow;
		}
		z.next_out = (Bytef *) out->data + out->len;
		z.avail_out = (uInt) (out->cap - out->len);
		rc = inflate(&z, Z_NO_FLUSH);
		out->len = out->cap - z.avail_out;
		if (out->len > max)
		{
			rc = -2;
			goto fail;
		}
	} while (rc == Z_OK);
	if (rc != Z_STREAM_END || z.avail_in != 0)
	{
		rc = -1;
		goto fail;
	}
	inflateEnd(&z);
	out->data[out->len] = '\0';
	return 0;
fail:
	inflateEnd(&z);
	buf_free(out);
	return rc;
}
