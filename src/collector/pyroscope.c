/*-------------------------------------------------------------------------
 *
 * pyroscope.c
 *	  POST /ingest as Pyroscope's server takes it, so that Pyroscope's SDKs
 *	  (Go, Python, Ruby, .NET, Node.js, Rust; Java sends JFR, not yet
 *	  taken) can send their profiles here unchanged:
 *	    name=APP[.TYPE]{k=v,...}  the service, a type hint, labels
 *	    from, until               Unix seconds: the profile's time and duration
 *	    format=pprof|folded|lines the body (folded by default); pprof raw or
 *	                              as the "profile" part of multipart/form-data
 *	    sampleRate, units, spyName, aggregationType  what folded counts mean
 *	  pprof profiles are stored as they came, typed by their sample types
 *	  (profefe.pprof_guess_type, the name's suffix deciding mutex or block);
 *	  collapsed stacks become pprof profiles (profefe.pprof_from_folded).
 *	  Both go through the same group commit as profefe's own POSTs.
 *
 * src/collector/pyroscope.c
 *
 *-------------------------------------------------------------------------
 */
/* memmem, memrchr, strcasestr: _GNU_SOURCE comes from the Makefile */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "metrics.h"
#include "params.h"
#include "pyroscope.h"
#include "request.h"
#include "saver.h"

/* Pyroscope's name suffixes (its Go SDK's and others') and the type each says. */
static const struct
{
	const char *suffix;
	const char *type;
}			suffixes[] = {
	{"cpu", "cpu"}, {"itimer", "cpu"}, {"wall", "wall"},
	{"alloc_objects", "allocs"}, {"alloc_space", "allocs"},
	{"inuse_objects", "heap"}, {"inuse_space", "heap"},
	{"goroutines", "goroutine"}, {"goroutine", "goroutine"},
	{"mutex_count", "mutex"}, {"mutex_duration", "mutex"},
	{"block_count", "block"}, {"block_duration", "block"},
	{"lock_count", "mutex"}, {"lock_duration", "mutex"},
	{"exceptions", "other"},
};

static const char *
suffix_type(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strlen(suffixes[i].suffix) == n && strncmp(suffixes[i].suffix, s, n) == 0)
			return suffixes[i].type;
	return NULL;
}

/*
 * Splits APP[.TYPE]{k=v,...}: the service (APP, or the whole name when
 * the last dot's suffix is not a type Pyroscope names), the type the
 * suffix says (NULL if none), the labels (Pyroscope's own __x__ ones
 * dropped). False with err set when the name is malformed.
 */
static bool
parse_name(const char *name, char **service, const char **type, Labels *labels, char *err, size_t errlen)
{
	const char *brace = strchr(name, '{');
	size_t		n = brace ? (size_t) (brace - name) : strlen(name);
	const char *dot;
	char	   *inner = NULL;
	int			kept = 0;

	*service = NULL;
	*type = NULL;
	labels->n = 0;
	labels->l = NULL;
	while (n > 0 && name[n - 1] == ' ')
		n--;
	dot = memrchr(name, '.', n);
	if (dot && (*type = suffix_type(dot + 1, n - (size_t) (dot + 1 - name))) != NULL)
		n = (size_t) (dot - name);
	if (n == 0)
	{
		snprintf(err, errlen, "invalid name: no application name before the labels or type");
		return false;
	}
	if (brace)
	{
		size_t		len = strlen(brace);

		if (len < 2 || brace[len - 1] != '}')
		{
			snprintf(err, errlen, "invalid name: the labels must be in braces at the end, {key=value,...}");
			return false;
		}
		inner = strndup(brace + 1, len - 2);
		if (inner == NULL || !labels_parse(inner, labels, err, errlen))
		{
			if (inner == NULL)
				snprintf(err, errlen, "out of memory");
			free(inner);
			return false;
		}
		free(inner);
		for (int i = 0; i < labels->n; i++)
		{
			size_t		kl = strlen(labels->l[i].key);

			if (kl >= 4 && strncmp(labels->l[i].key, "__", 2) == 0 && strcmp(labels->l[i].key + kl - 2, "__") == 0)
			{
				free(labels->l[i].key);
				free(labels->l[i].value);
				continue;
			}
			labels->l[kept++] = labels->l[i];
		}
		labels->n = kept;
	}
	*service = strndup(name, n);
	if (*service == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

/* A Unix time in seconds (Pyroscope's from and until); false if it is not one. */
static bool
unix_seconds(const char *s, long long *out)
{
	char	   *end;

	if (s == NULL || *s == '\0')
		return false;
	*out = strtoll(s, &end, 10);
	return *end == '\0' && *out >= 0 && *out < 253402300800LL;	/* before year 10000 */
}

/*
 * The part named name of a multipart/form-data body (RFC 7578); false
 * when the content type has no boundary or there is no such part.
 */
static bool
multipart_part(const char *ctype, const char *body, size_t len, const char *name,
			   const char **data, size_t *dlen)
{
	const char *b = strcasestr(ctype, "boundary=");
	char		delim[80];
	size_t		blen,
				dl;
	const char *p,
			   *end = body + len;

	if (b == NULL)
		return false;
	b += 9;
	if (*b == '"')
	{
		const char *q = strchr(b + 1, '"');

		if (q == NULL)
			return false;
		blen = (size_t) (q - b - 1);
		b++;
	}
	else
		blen = strcspn(b, "; \t");
	if (blen == 0 || blen > 70)
		return false;
	dl = (size_t) snprintf(delim, sizeof(delim), "--%.*s", (int) blen, b);
	p = memmem(body, len, delim, dl);
	while (p)
	{
		const char *hdr = p + dl,
				   *hend,
				   *next;
		char		want[80];

		if (end - hdr >= 2 && hdr[0] == '-' && hdr[1] == '-')
			return false;		/* the closing delimiter */
		if (end - hdr >= 2 && hdr[0] == '\r' && hdr[1] == '\n')
			hdr += 2;
		hend = memmem(hdr, (size_t) (end - hdr), "\r\n\r\n", 4);
		if (hend == NULL)
			return false;
		next = memmem(hend + 4, (size_t) (end - hend - 4), delim, dl);
		snprintf(want, sizeof(want), "name=\"%s\"", name);
		if (memmem(hdr, (size_t) (hend - hdr), want, strlen(want)))
		{
			const char *dend = next ? next : end;

			*data = hend + 4;
			/* the CRLF before the next delimiter belongs to it */
			if (dend - *data >= 2 && dend[-2] == '\r' && dend[-1] == '\n')
				dend -= 2;
			*dlen = (size_t) (dend - *data);
			return true;
		}
		p = next;
	}
	return false;
}

/*
 * What collapsed stacks' counts are, from Pyroscope's units (and the type
 * the name says): the sample type and unit, the profefe type, and whether
 * counts are samples at sampleRate (then worth 1e9 / rate nanoseconds).
 */
static bool
folded_meaning(const char *units, const char *hint, const char **stype, const char **sunit,
			   const char **type, bool *timed)
{
	*timed = false;
	if (units == NULL || strcmp(units, "samples") == 0)
	{
		*type = hint && strcmp(hint, "wall") == 0 ? "wall" : "cpu";
		*stype = *type;
		*sunit = "nanoseconds";
		*timed = true;
	}
	else if (strcmp(units, "objects") == 0)
	{
		*type = hint && strcmp(hint, "allocs") == 0 ? "allocs" : "heap";
		*stype = strcmp(*type, "allocs") == 0 ? "alloc_objects" : "inuse_objects";
		*sunit = "count";
	}
	else if (strcmp(units, "bytes") == 0)
	{
		*type = hint && strcmp(hint, "allocs") == 0 ? "allocs" : "heap";
		*stype = strcmp(*type, "allocs") == 0 ? "alloc_space" : "inuse_space";
		*sunit = "bytes";
	}
	else if (strcmp(units, "goroutines") == 0)
	{
		*type = "goroutine";
		*stype = "goroutine";
		*sunit = "count";
	}
	else if (strcmp(units, "lock_samples") == 0)
	{
		*type = hint && strcmp(hint, "block") == 0 ? "block" : "mutex";
		*stype = "contentions";
		*sunit = "count";
	}
	else if (strcmp(units, "lock_nanoseconds") == 0)
	{
		*type = hint && strcmp(hint, "block") == 0 ? "block" : "mutex";
		*stype = "delay";
		*sunit = "nanoseconds";
	}
	else
		return false;
	return true;
}

void
pyroscope_ingest(const Request *req, Reply *reply)
{
	const char *name = required(req, reply, "name");
	const char *format = optional(req, "format");
	const char *from_s = optional(req, "from");
	const char *until_s = optional(req, "until");
	const char *rate_s = optional(req, "sampleRate");
	char	   *service = NULL;
	const char *hint = NULL;
	Labels		labels = {0};
	Buf			lj = {0};
	SaveItem	item = {0};
	FoldedArgs	fa = {0};
	char		err[256],
				created[32] = "",
				duration[32] = "",
				scale[32] = "1",
				period[32] = "0";
	long long	from = 0,
				until = 0;
	const char *data = req->body;
	size_t		len = req->body_len;

	if (name == NULL)
		return;
	if (format == NULL)
		format = "folded";
	if (strcmp(format, "pprof") != 0 && strcmp(format, "folded") != 0 && strcmp(format, "lines") != 0)
	{
		reply_error(reply, 400, "format %s is not supported: pprof, folded or lines", format);
		return;
	}
	if ((from_s && !unix_seconds(from_s, &from)) || (until_s && !unix_seconds(until_s, &until)))
	{
		reply_error(reply, 400, "invalid from or until: Unix seconds");
		return;
	}
	if (from_s && until_s && until < from)
	{
		reply_error(reply, 400, "invalid time range: until is before from");
		return;
	}
	if (!parse_name(name, &service, &hint, &labels, err, sizeof(err)))
	{
		reply_error(reply, 400, "%s", err);
		goto out;
	}
	if (req->content_type && strncasecmp(req->content_type, "multipart/form-data", 19) == 0 &&
		!multipart_part(req->content_type, req->body, req->body_len, "profile", &data, &len))
	{
		reply_error(reply, 400, "malformed profile: a multipart/form-data body without a \"profile\" part");
		goto out;
	}
	if (len == 0)
	{
		reply_error(reply, 400, "malformed profile: empty profile");
		goto out;
	}
	if (from_s)
	{
		time_t		t = (time_t) from;
		struct tm	tm;

		gmtime_r(&t, &tm);
		strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (until_s)
			snprintf(duration, sizeof(duration), "%lld seconds", until - from);
	}
	labels_json_object(&labels, &lj);
	if (lj.failed)
	{
		reply_error(reply, 500, "out of memory");
		goto out;
	}
	item.service = service;
	item.labels_json = lj.data;
	item.created_at = created[0] ? created : NULL;
	item.data = data;
	item.len = len;
	item.tenant = req->tenant;
	if (strcmp(format, "pprof") == 0)
	{
		item.type = NULL;		/* the sample types say */
		item.type_hint = hint;
	}
	else
	{
		const char *stype,
				   *sunit,
				   *type;
		bool		timed;
		long long	rate = 100;

		if (!folded_meaning(optional(req, "units"), hint, &stype, &sunit, &type, &timed))
		{
			reply_error(reply, 400, "units %s is not supported: samples, objects, bytes, goroutines, "
						"lock_samples or lock_nanoseconds", optional(req, "units"));
			goto out;
		}
		if (rate_s && (!unix_seconds(rate_s, &rate) || rate < 1 || rate > 1000000000))
		{
			reply_error(reply, 400, "invalid sampleRate: samples a second, 1 to 1000000000");
			goto out;
		}
		if (timed)
		{
			snprintf(scale, sizeof(scale), "%lld", 1000000000LL / rate);
			snprintf(period, sizeof(period), "%lld", 1000000000LL / rate);
			fa.period_type = stype;
			fa.period_unit = sunit;
		}
		fa.sample_type = stype;
		fa.unit = sunit;
		fa.scale = scale;
		fa.period = period;
		fa.profile_time = created[0] ? created : NULL;
		fa.duration = duration[0] ? duration : NULL;
		fa.lines = strcmp(format, "lines") == 0;
		item.type = type;
		item.folded = &fa;
	}
	saver_submit(&item);
	if (item.status != 200)
		reply_db_error(reply, &item.err);
	else
	{
		const char *type = item.type ? item.type : item.type_out;

		metrics_ingested(type, len);
		reply->status = 200;
		reply->content_type = "application/json";
		buf_puts(&reply->body, "{\"code\":200,\"body\":{\"id\":");
		buf_json_string(&reply->body, item.id, strlen(item.id));
		buf_puts(&reply->body, ",\"type\":");
		buf_json_string(&reply->body, type, strlen(type));
		buf_puts(&reply->body, ",\"service\":");
		buf_json_string(&reply->body, service, strlen(service));
		buf_puts(&reply->body, "}}\n");
	}
out:
	free(service);
	labels_free(&labels);
	buf_free(&lj);
}
