/*-------------------------------------------------------------------------
 *
 * params.c
 *	  Request parameters as profefe's Go collector reads them: the query
 *	  string (url.ParseQuery), labels "k=v,k=v" (split, then each part
 *	  trimmed and unescaped once more), times, profile types and ids.
 *	  Stricter where Go silently drops input: a malformed escape or an
 *	  embedded NUL is a 400, not a missing parameter.
 *
 * src/collector/params.c
 *
 *-------------------------------------------------------------------------
 */
#include "params.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes in[0..n) into a new string (*out, malloc'd). With
 * plus_is_space, '+' decodes to ' ' (query strings). Fails on a malformed
 * escape or a decoded NUL byte.
 */
bool
url_unescape(const char *in, size_t n, bool plus_is_space, char **out)
{
	char	   *o = malloc(n + 1);
	size_t		j = 0;

	if (o == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char		c = in[i];

		if (c == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= n)
			{
				free(o);
				return false;
			}
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			{
				free(o);
				return false;
			}
			o[j++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else if (c == '+' && plus_is_space)
			o[j++] = ' ';
		else if (c == '\0')
		{
			free(o);
			return false;
		}
		else
			o[j++] = c;
	}
	o[j] = '\0';
	*out = o;
	return true;
}

/* Splits a raw query string ("a=1&b=2") into unescaped pairs; on failure q holds none. */
bool
query_parse(const char *raw, Query *q, char *err, size_t errlen)
{
	const char *p = raw ? raw : "";

	q->n = 0;
	while (*p)
	{
		const char *end = strchr(p, '&');
		size_t		len = end ? (size_t) (end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t		klen = eq ? (size_t) (eq - p) : len;
		char	   *key,
				   *value;

		if (len > 0)
		{
			if (memchr(p, ';', len) != NULL)
			{
				snprintf(err, errlen, "bad request: invalid query string (\";\" is not a separator)");
				query_free(q);
				return false;
			}
			if (q->n >= MAX_PARAMS)
			{
				snprintf(err, errlen, "bad request: more than %d query parameters", MAX_PARAMS);
				query_free(q);
				return false;
			}
			if (!url_unescape(p, klen, true, &key))
			{
				snprintf(err, errlen, "bad request: invalid escape in query string");
				query_free(q);
				return false;
			}
			if (!url_unescape(eq ? eq + 1 : p + len, eq ? len - klen - 1 : 0, true, &value))
			{
				snprintf(err, errlen, "bad request: invalid escape in parameter \"%.64s\"", key);
				free(key);
				query_free(q);
				return false;
			}
			q->p[q->n].key = key;
			q->p[q->n].value = value;
			q->n++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return true;
}

/* The first value of key (Go's Query().Get), or NULL. */
const char *
query_get(const Query *q, const char *key)
{
	for (int i = 0; i < q->n; i++)
		if (strcmp(q->p[i].key, key) == 0)
			return q->p[i].value;
	return NULL;
}

void
query_free(Query *q)
{
	for (int i = 0; i < q->n; i++)
	{
		free(q->p[i].key);
		free(q->p[i].value);
	}
	q->n = 0;
}

static char *
trim_unescape(const char *s, size_t n, bool *ok)
{
	char	   *out;

	while (n > 0 && isspace((unsigned char) *s))
		s++, n--;
	while (n > 0 && isspace((unsigned char) s[n - 1]))
		n--;
	*ok = url_unescape(s, n, true, &out);
	return *ok ? out : NULL;
}

/* by key, then by position in the request */
static int
label_cmp(const void *a, const void *b)
{
	const Label *x = a,
			   *y = b;
	int			c = strcmp(x->key, y->key);

	return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * profefe's labels "k1=v1,k2=v2": split on ',', then on the first '=';
 * both parts trimmed and unescaped; empty keys dropped. Sorted by key; of
 * repeated keys the last wins (as in a JSON object).
 */
bool
labels_parse(const char *s, Labels *out, char *err, size_t errlen)
{
	size_t		cap = 1;
	const char *p = s ? s : "";

	for (const char *c = p; *c; c++)
		if (*c == ',')
			cap++;
	out->n = 0;
	if (cap > MAX_LABELS)
	{
		out->l = NULL;
		snprintf(err, errlen, "bad request: more than %d labels", MAX_LABELS);
		return false;
	}
	out->l = calloc(cap, sizeof(Label));
	if (out->l == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	while (*p)
	{
		const char *end = strchr(p, ',');
		size_t		len = end ? (size_t) (end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t		klen = eq ? (size_t) (eq - p) : len;
		bool		ok;
		char	   *key = trim_unescape(p, klen, &ok);
		char	   *value;

		if (!ok)
			goto bad;
		value = trim_unescape(eq ? eq + 1 : p + len, eq ? len - klen - 1 : 0, &ok);
		if (!ok)
		{
			free(key);
			goto bad;
		}
		if (!utf8_valid(key, strlen(key)) || !utf8_valid(value, strlen(value)))
		{
			free(key);
			free(value);
			labels_free(out);
			snprintf(err, errlen, "bad request: labels must be valid UTF-8");
			return false;
		}
		if (key[0] == '\0')
		{
			free(key);
			free(value);
		}
		else
		{
			out->l[out->n].key = key;
			out->l[out->n].value = value;
			out->l[out->n].seq = out->n;
			out->n++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	/* sorted by key; of equal keys the last given wins (as in a JSON object) */
	qsort(out->l, out->n, sizeof(Label), label_cmp);
	{
		int			k = 0;

		for (int i = 0; i < out->n; i++)
		{
			if (i + 1 < out->n && strcmp(out->l[i].key, out->l[i + 1].key) == 0)
			{
				free(out->l[i].key);
				free(out->l[i].value);
				continue;
			}
			out->l[k++] = out->l[i];
		}
		out->n = k;
	}
	return true;

bad:
	labels_free(out);
	snprintf(err, errlen, "bad request: invalid escape in labels");
	return false;
}

void
labels_free(Labels *l)
{
	for (int i = 0; i < l->n; i++)
	{
		free(l->l[i].key);
		free(l->l[i].value);
	}
	free(l->l);
	l->l = NULL;
	l->n = 0;
}

/* {"k":"v",...}: the jsonb the store keeps */
void
labels_json_object(const Labels *l, Buf *b)
{
	buf_puts(b, "{");
	for (int i = 0; i < l->n; i++)
	{
		if (i)
			buf_puts(b, ",");
		buf_json_string(b, l->l[i].key, strlen(l->l[i].key));
		buf_puts(b, ":");
		buf_json_string(b, l->l[i].value, strlen(l->l[i].value));
	}
	buf_puts(b, "}");
}

/* [{"key":"k","value":"v"},...]: profefe's JSON form */
void
labels_json_array(const Labels *l, Buf *b)
{
	buf_puts(b, "[");
	for (int i = 0; i < l->n; i++)
	{
		if (i)
			buf_puts(b, ",");
		buf_puts(b, "{\"key\":");
		buf_json_string(b, l->l[i].key, strlen(l->l[i].key));
		buf_puts(b, ",\"value\":");
		buf_json_string(b, l->l[i].value, strlen(l->l[i].value));
		buf_puts(b, "}");
	}
	buf_puts(b, "]");
}

static bool
digits(const char *s, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * profefe's time layout 2006-01-02T15:04:05 (UTC), optionally with
 * fractional seconds and a zone (Z or +hh:mm), as RFC 3339. On success
 * out holds the same instant in a form PostgreSQL reads unambiguously.
 */
bool
time_parse(const char *s, char out[64], char *err, size_t errlen)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y, mo, d, h, mi, sec, zh = 0, zm = 0;
	size_t		n = strlen(s);
	size_t		i = 19;
	char		frac[16] = "";
	char		sign = '+';

	if (n < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
		!digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		!digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
		!digits(s + 17, 2, &sec))
		goto bad;
	if (i < n && s[i] == '.')
	{
		size_t		k = 0;

		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
		{
			if (k < 9)
				frac[k++] = s[i];
			i++;
		}
		if (k == 0)
			goto bad;
		frac[k] = '\0';
	}
	if (i < n)
	{
		if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
			i++;
		else if ((s[i] == '+' || s[i] == '-') && n - i == 6 && digits(s + i + 1, 2, &zh) &&
				 s[i + 3] == ':' && digits(s + i + 4, 2, &zm) && zh <= 23 && zm <= 59)
		{
			sign = s[i];
			i = n;
		}
		else
			goto bad;
	}
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		goto range;
	{
		int			md = mdays[mo - 1];

		if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
			md = 29;
		if (d > md)
			goto range;
	}
	snprintf(out, 64, "%04d-%02d-%02d %02d:%02d:%02d%s%s%c%02d:%02d",
			 y, mo, d, h, mi, sec, frac[0] ? "." : "", frac, sign, zh, zm);
	return true;

bad:
	snprintf(err, errlen, "want 2006-01-02T15:04:05 (UTC) or RFC 3339 with a zone");
	return false;
range:
	snprintf(err, errlen, "a date or time field is out of range");
	return false;
}

/* In the order of profefe.profile_types() (sql/profefe.sql). */
const ProfileType profile_types[] = {
	{"cpu", "profile", true},
	{"heap", "heap", false},
	{"allocs", "allocs", true},
	{"block", "block", true},
	{"mutex", "mutex", true},
	{"goroutine", "goroutine", false},
	{"threadcreate", "threadcreate", false},
	{"wall", NULL, false},
	{"other", NULL, false},
	{"trace", NULL, false},
};
const int	n_profile_types = sizeof(profile_types) / sizeof(profile_types[0]);

const ProfileType *
profile_type_find(const char *t)
{
	for (int i = 0; i < n_profile_types; i++)
		if (strcmp(t, profile_types[i].name) == 0)
			return &profile_types[i];
	return NULL;
}

/* "cpu, heap, ...": for messages */
void
profile_type_list(Buf *b)
{
	for (int i = 0; i < n_profile_types; i++)
		buf_printf(b, "%s%s", i ? ", " : "", profile_types[i].name);
}

/* Profile ids are 20 characters of base32hex, lower case (src/pg/store.c). */
bool
profile_id_valid(const char *s, size_t n)
{
	if (n != 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'v')))
			return false;
	return true;
}

/* The Unix seconds a valid id begins with: its first 32 of 100 bits. */
int64_t
profile_id_seconds(const char *id)
{
	uint64_t	acc = 0;

	for (int i = 0; i < 7; i++)
	{
		char		c = id[i];

		acc = (acc << 5) | (uint64_t) (c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return (int64_t) (acc >> 3);	/* 35 bits read, 32 wanted */
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* A time_parse result as Unix seconds and its fraction's digits (9 of them). */
static void
time_instant(const char *t, int64_t *secs, char frac[10])
{
	int			y = 0,
				mo = 0,
				d = 0,
				h = 0,
				mi = 0,
				s = 0,
				zh = 0,
				zm = 0;
	const char *p = t + 19;
	size_t		k = 0;

	sscanf(t, "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s);
	memset(frac, '0', 9);
	frac[9] = '\0';
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (k < 9)
				frac[k++] = *p;
	if (*p == '+' || *p == '-')
		sscanf(p + 1, "%2d:%2d", &zh, &zm);
	*secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
		(*p == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
}

/* Orders two times that time_parse produced: <0, 0, >0. */
int
time_compare(const char *a, const char *b)
{
	int64_t		sa,
				sb;
	char		fa[10],
				fb[10];

	time_instant(a, &sa, fa);
	time_instant(b, &sb, fb);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return strcmp(fa, fb);
}

/* Seconds from a to b, both from time_parse (fractions dropped). */
int64_t
time_span_seconds(const char *a, const char *b)
{
	int64_t		sa,
				sb;
	char		frac[10];

	time_instant(a, &sa, frac);
	time_instant(b, &sb, frac);
	return sb - sa;
}

/*
 * A duration as Go's time.ParseDuration reads it ("90s", "1h30m", "1.5h",
 * "500ms"), plus "d" for 24h (Grafana's intervals use it) and a plain
 * number of seconds. On success *ms holds it in milliseconds (fractions of
 * a millisecond dropped).
 */
bool
duration_parse(const char *s, int64_t *ms, char *err, size_t errlen)
{
	static const struct
	{
		const char *unit;
		double		ms;
	}			units[] = {
		{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1}, {"s", 1000},
		{"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	const char *p = s;
	double		total = 0;

	if (s == NULL || *s == '\0')
		goto bad;
	while (*p)
	{
		char		num[32];
		size_t		n = strspn(p, "0123456789.");
		char	   *end;
		double		v;
		int			u = -1;
		size_t		best = 0;

		if (n == 0 || n >= sizeof(num))
			goto bad;
		memcpy(num, p, n);
		num[n] = '\0';
		v = strtod(num, &end);
		if (*end != '\0' || strchr(num, '.') != strrchr(num, '.'))
			goto bad;
		p += n;
		if (*p == '\0' && p - n == s)
		{
			total = v * 1000;	/* a plain number: seconds */
			break;
		}
		/* the longest unit that matches ("ms" before "m") */
		for (int i = 0; i < (int) (sizeof(units) / sizeof(units[0])); i++)
		{
			size_t		l = strlen(units[i].unit);

			if (l > best && strncmp(p, units[i].unit, l) == 0)
			{
				u = i;
				best = l;
			}
		}
		if (u < 0)
			goto bad;
		p += best;
		total += v * units[u].ms;
	}
	if (!(total >= 0 && total < 1e15))
		goto bad;
	*ms = (int64_t) total;
	return true;
bad:
	snprintf(err, errlen, "want a duration such as 30s, 5m, 1h30m or 1d");
	return false;
}
