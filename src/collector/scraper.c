/*-------------------------------------------------------------------------
 *
 * scraper.c
 *	  Pulling profiles from net/http/pprof endpoints (the rows of
 *	  profefe.scrape_targets, plus static targets from -scrape.file, which
 *	  are upserted into that table so that every collector shares them).
 *
 *	  A scheduler thread claims due targets with claim_scrape_targets, never
 *	  more than there are idle workers, so a claimed target starts at once
 *	  and targets that are not due are never held. Each of -scrape.workers
 *	  threads scrapes one target at a time: all its profile types fetched at
 *	  once with libcurl's multi interface (so the CPU profile's N seconds and
 *	  the delta profiles' N seconds overlap), each with its own timeout and
 *	  the -max-body cap, each on a connection of its own closed after the
 *	  scrape, then saved through the same group commit as POSTs,
 *	  then the outcome recorded (record_scrape backs failing targets off).
 *	  A hung or slow target holds one worker, never the others.
 *
 * src/collector/scraper.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "db.h"
#include "metrics.h"
#include "params.h"
#include "saver.h"
#include "scraper.h"
#include "settings.h"
#include "util.h"

#define MAX_TYPES 7

typedef struct Job
{
	char	   *target_id;
	char	   *service;
	char	   *url;
	char	   *labels;			/* jsonb text, "instance" included */
	char	   *types;			/* "cpu,heap,..." */
	char	   *instance;
	char	   *tenant;			/* whose profiles these are */
	char	   *ca_file;		/* NULL: the system's CAs */
	char	   *auth_kind;		/* NULL, "bearer" or "basic" */
	char	   *auth_username;
	char	   *auth_secret;
	int			cpu_seconds;
	bool		delta;
	long		timeout_ms;
	double		late_s;			/* claim time - scheduled time */
	int64_t		claimed_us;
	struct Job *next;
} Job;

typedef struct StaticTarget
{
	int			line;
	char	   *service;
	char	   *url;
	char	   *labels_json;
	char	   *types;			/* NULL = all */
	char		interval[32];
	char		timeout[32];
	int			cpu_seconds;
	bool		delta;
	bool		done;
} StaticTarget;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t sched_cond = PTHREAD_COND_INITIALIZER;
static Job *queue_head,
		   *queue_tail;
static int	busy;				/* jobs claimed and not yet finished */
static bool stopping;			/* set once under lock, read by every thread: atomic */

static inline bool
is_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
}
static pthread_t scheduler;
static pthread_t *workers;
static int	nworkers;
static char collector_name[300];

static StaticTarget *statics;
static int	nstatics;

/* ---- static targets (-scrape.file) ---- */

static char *
xstrndup(const char *s, size_t n)
{
	char	   *p = malloc(n + 1);

	if (p)
	{
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/*
 * One target per line: service url [key=value ...], keys interval, cpu,
 * types (cpu,heap,...), labels (k=v,k=v), delta (true/false), timeout.
 * '#' starts a comment. Errors name the line and stop the collector.
 */
bool
scrape_file_load(const char *path, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096];
	int			lineno = 0;

	if (f == NULL)
	{
		snprintf(err, errlen, "cannot open -scrape.file %s: %s", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f))
	{
		char	   *tok[32];
		int			ntok = 0;
		char	   *save = NULL;
		char	   *hash = strchr(line, '#');
		StaticTarget t = {0};
		StaticTarget *grown;

		lineno++;
		if (hash)
			*hash = '\0';
		for (char *p = strtok_r(line, " \t\r\n", &save); p && ntok < 32; p = strtok_r(NULL, " \t\r\n", &save))
			tok[ntok++] = p;
		if (ntok == 0)
			continue;
		if (ntok < 2)
		{
			snprintf(err, errlen, "%s:%d: want \"service url [key=value ...]\"", path, lineno);
			fclose(f);
			return false;
		}
		t.line = lineno;
		t.service = strdup(tok[0]);
		t.url = strdup(tok[1]);
		t.labels_json = strdup("{}");
		snprintf(t.interval, sizeof(t.interval), "60s");
		snprintf(t.timeout, sizeof(t.timeout), "30s");
		t.cpu_seconds = 10;
		for (int i = 2; i < ntok; i++)
		{
			char	   *eq = strchr(tok[i], '=');
			char	   *v = eq ? eq + 1 : NULL;

			if (eq == NULL)
				goto bad;
			*eq = '\0';
			if (strcmp(tok[i], "interval") == 0 && strlen(v) < sizeof(t.interval))
				snprintf(t.interval, sizeof(t.interval), "%s", v);
			else if (strcmp(tok[i], "timeout") == 0 && strlen(v) < sizeof(t.timeout))
				snprintf(t.timeout, sizeof(t.timeout), "%s", v);
			else if (strcmp(tok[i], "cpu") == 0 || strcmp(tok[i], "cpu_seconds") == 0)
			{
				char	   *end;

				t.cpu_seconds = (int) strtol(v, &end, 10);
				if (*end != '\0' && strcmp(end, "s") != 0)
					goto bad;
			}
			else if (strcmp(tok[i], "types") == 0)
				t.types = strdup(v);
			else if (strcmp(tok[i], "delta") == 0)
				t.delta = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
			else if (strcmp(tok[i], "labels") == 0)
			{
				Labels		l;
				Buf			b = {0};
				char		why[160];

				if (!labels_parse(v, &l, why, sizeof(why)))
				{
					snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
					fclose(f);
					return false;
				}
				labels_json_object(&l, &b);
				labels_free(&l);
				free(t.labels_json);
				t.labels_json = b.data;
			}
			else
				goto bad;
			continue;
	bad:
			snprintf(err, errlen, "%s:%d: unknown or malformed setting \"%s\" (want interval=, cpu=, "
					 "types=, labels=, delta=, timeout=)", path, lineno, tok[i]);
			fclose(f);
			return false;
		}
		grown = realloc(statics, (nstatics + 1) * sizeof(StaticTarget));
		if (grown == NULL)
		{
			snprintf(err, errlen, "out of memory");
			fclose(f);
			return false;
		}
		statics = grown;
		statics[nstatics++] = t;
	}
	fclose(f);
	return true;
}

/* Durations as PostgreSQL reads them: "10s" -> "10 seconds". */
static void
pg_interval(const char *in, char *out, size_t outlen)
{
	char	   *end;
	double		v = strtod(in, &end);

	if (strcmp(end, "ms") == 0)
		snprintf(out, outlen, "%g milliseconds", v);
	else if (strcmp(end, "m") == 0)
		snprintf(out, outlen, "%g minutes", v);
	else if (strcmp(end, "h") == 0)
		snprintf(out, outlen, "%g hours", v);
	else if (*end == '\0' || strcmp(end, "s") == 0)
		snprintf(out, outlen, "%g seconds", v);
	else
		snprintf(out, outlen, "%s", in);	/* let PostgreSQL judge it */
}

/* Upserts the static targets not yet in the table; false if the DB is away. */
static bool
upsert_statics(void)
{
	bool		all = true;

	for (int i = 0; i < nstatics; i++)
	{
		StaticTarget *t = &statics[i];
		char		iv[64],
					to[64],
					cpu[16];
		const char *delta = t->delta ? "true" : "false";
		const char *values[8];
		DbError		err;
		DbConn	   *c;
		PGresult   *res;

		if (t->done)
			continue;
		pg_interval(t->interval, iv, sizeof(iv));
		pg_interval(t->timeout, to, sizeof(to));
		snprintf(cpu, sizeof(cpu), "%d", t->cpu_seconds);
		values[0] = t->service;
		values[1] = t->url;
		values[2] = t->labels_json;
		values[3] = t->types;
		values[4] = iv;
		values[5] = cpu;
		values[6] = delta;
		values[7] = to;
		if ((c = db_acquire(&err)) == NULL)
			return false;
		res = db_exec(c, STMT_UPSERT_TARGET, 8, values, NULL, NULL, 0, &err);
		db_release(c);
		if (res == NULL && err.status == 503)
		{
			all = false;
			continue;
		}
		if (res == NULL)
			log_msg(LOG_ERROR, "-scrape.file line %d (%s %s): %s", t->line, t->service, t->url, err.message);
		else
			log_msg(LOG_INFO, "static scrape target %s %s: id %s", t->service, t->url, PQgetvalue(res, 0, 0));
		t->done = true;
		PQclear(res);
	}
	return all;
}

/* ---- fetching ---- */

typedef struct Fetch
{
	CURL	   *h;
	char		type[16];
	char		url[2300];
	Buf			body;
	bool		too_big;
	CURLcode	rc;
	bool		finished;
	int			redirects;		/* same-origin redirects followed */
	char		refused[300];	/* the origin of a redirect not followed, or "" */
	char		curl_err[CURL_ERROR_SIZE];
} Fetch;

#define MAX_REDIRECTS 3

/*
 * scheme://host:port of a URL (ports filled in), lower-cased; false when
 * libcurl cannot parse it.
 */
static bool
url_origin(const char *url, char *out, size_t outlen)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL,
			   *host = NULL,
			   *port = NULL;
	bool		ok = false;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
	{
		snprintf(out, outlen, "%s://%s:%s", scheme, host, port);
		for (char *p = out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
		ok = true;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/*
 * A finished transfer that was redirected: follows it (true: the transfer
 * goes on) only to the same scheme, host and port, at most MAX_REDIRECTS
 * times, so that a target cannot make the collector fetch another service
 * or an internal address; else records where it pointed (never a byte of
 * what is there) and ends.
 */
static bool
follow_redirect(CURLM *multi, Fetch *x)
{
	long		code = 0;
	char	   *location = NULL;
	char		from[300],
				to[300];

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	if (code < 300 || code > 399 || curl_easy_getinfo(x->h, CURLINFO_REDIRECT_URL, &location) != CURLE_OK ||
		location == NULL)
		return false;
	if (!url_origin(x->url, from, sizeof(from)) || !url_origin(location, to, sizeof(to)) || strcmp(from, to) != 0)
	{
		snprintf(x->refused, sizeof(x->refused), "%s", url_origin(location, to, sizeof(to)) ? to : "an unreadable URL");
		return false;
	}
	if (x->redirects >= MAX_REDIRECTS || strlen(location) >= sizeof(x->url))
	{
		snprintf(x->refused, sizeof(x->refused), "more than %d redirects", MAX_REDIRECTS);
		return false;
	}
	snprintf(x->url, sizeof(x->url), "%s", location);	/* location is libcurl's: copy before the reset */
	x->redirects++;
	x->body.len = 0;
	x->too_big = false;
	curl_multi_remove_handle(multi, x->h);
	curl_easy_setopt(x->h, CURLOPT_URL, x->url);
	curl_multi_add_handle(multi, x->h);
	return true;
}

static size_t
write_cb(char *p, size_t size, size_t n, void *ud)
{
	Fetch	   *f = ud;
	size_t		len = size * n;

	if (f->body.len + len > settings.max_body)
	{
		f->too_big = true;
		return 0;				/* aborts the transfer */
	}
	buf_append(&f->body, p, len);
	return f->body.failed ? 0 : len;
}

static int
progress_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return is_stopping() ? 1 : 0;
}

/* The errors of one scrape: per type, grouped by message when written. */
typedef struct Errors
{
	int			n;
	char		type[MAX_TYPES][16];
	char		msg[MAX_TYPES][400];
} Errors;

static void
add_error(Errors *e, const char *type, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static void
add_error(Errors *e, const char *type, const char *fmt,...)
{
	va_list		ap;

	if (e->n >= MAX_TYPES)
		return;
	snprintf(e->type[e->n], sizeof(e->type[0]), "%s", type);
	va_start(ap, fmt);
	vsnprintf(e->msg[e->n], sizeof(e->msg[0]), fmt, ap);
	va_end(ap);
	e->n++;
}

/*
 * libcurl's message for a failed transfer, without the elapsed time it
 * names ("... after 3 ms: ..."), so that types failing alike are reported
 * together whatever each one took.
 */
static const char *
curl_message(Fetch *x)
{
	char	   *p;

	if (x->curl_err[0] == '\0')
		return curl_easy_strerror(x->rc);
	while ((p = strstr(x->curl_err, " after ")) != NULL && p[7] >= '0' && p[7] <= '9')
	{
		char	   *q = p + 7;

		while (*q >= '0' && *q <= '9')
			q++;
		if (strncmp(q, " ms", 3) == 0)
			q += 3;
		else if (strncmp(q, " milliseconds", 13) == 0)
			q += 13;
		else
			break;
		memmove(p, q, strlen(q) + 1);
	}
	return x->curl_err;
}

/* "cpu, heap: connection refused; mutex: HTTP 404" */
static void
errors_text(const Errors *e, Buf *out)
{
	bool		used[MAX_TYPES] = {false};

	for (int i = 0; i < e->n; i++)
	{
		if (used[i])
			continue;
		buf_puts(out, out->len ? "; " : "");
		buf_puts(out, e->type[i]);
		for (int j = i + 1; j < e->n; j++)
			if (!used[j] && strcmp(e->msg[i], e->msg[j]) == 0)
			{
				buf_printf(out, ", %s", e->type[j]);
				used[j] = true;
			}
		buf_printf(out, ": %s", e->msg[i]);
	}
}

/* The first line of a non-profile reply, printable ASCII only, for errors. */
static void
snippet(const Buf *b, char *out, size_t outlen)
{
	size_t		j = 0;

	for (size_t i = 0; i < b->len && j + 1 < outlen && j < 80; i++)
	{
		unsigned char c = (unsigned char) b->data[i];

		if (c == '\n' || c == '\r')
			break;
		out[j++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
	}
	out[j] = '\0';
}

static void
scrape(CURLM *multi, Job *job)
{
	Fetch		f[MAX_TYPES];
	int			n = 0;
	int			running = 0;
	int			stored = 0;
	Errors		errors = {0};
	Buf			errs = {0};
	char		types[128];
	char	   *save = NULL;
	const char *base = job->url;
	size_t		blen = strlen(base);
	int64_t		t0 = now_us();
	struct timespec wall;
	struct tm	tm;
	char		started[64],
				dur[32],
				stored_s[16];

	clock_gettime(CLOCK_REALTIME, &wall);
	gmtime_r(&wall.tv_sec, &tm);
	strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(started + strlen(started), sizeof(started) - strlen(started), ".%06ld+00",
			 wall.tv_nsec / 1000);
	metrics_scrape_start(job->late_s + (t0 - job->claimed_us) / 1e6);

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	snprintf(types, sizeof(types), "%s", job->types);
	for (char *t = strtok_r(types, ",", &save); t && n < MAX_TYPES; t = strtok_r(NULL, ",", &save))
	{
		Fetch	   *x = &f[n];
		long		wait_s = 0;

		const ProfileType *pt = profile_type_find(t);

		memset(x, 0, sizeof(*x));
		snprintf(x->type, sizeof(x->type), "%s", t);
		if (pt == NULL || pt->path == NULL)
		{
			/* the table's CHECK allows only scrapable types: a newer extension? */
			add_error(&errors, t, "this collector cannot scrape profiles of this type");
			continue;
		}
		/* cpu always takes ?seconds=N; allocs, block and mutex do in delta mode */
		if (pt->seconds && (strcmp(t, "cpu") == 0 || job->delta))
		{
			wait_s = job->cpu_seconds;
			snprintf(x->url, sizeof(x->url), "%.*s/%s?seconds=%d", (int) blen, base, pt->path, job->cpu_seconds);
		}
		else
			snprintf(x->url, sizeof(x->url), "%.*s/%s", (int) blen, base, pt->path);
		x->h = curl_easy_init();
		if (x->h == NULL)
		{
			add_error(&errors, t, "out of memory");
			continue;
		}
		curl_easy_setopt(x->h, CURLOPT_URL, x->url);
		curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(x->h, CURLOPT_USERAGENT, "profefe-collector/" COLLECTOR_VERSION);
		curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, write_cb);
		curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
		curl_easy_setopt(x->h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(x->h, CURLOPT_XFERINFOFUNCTION, progress_cb);
		curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->curl_err);
		curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, wait_s * 1000 + job->timeout_ms);
		curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, job->timeout_ms < 10000 ? job->timeout_ms : 10000L);
		curl_easy_setopt(x->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) settings.max_body);
		/* redirects are followed by hand, to the same origin only (follow_redirect) */
		curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);

		/*
		 * No connection outlives its scrape: a worker rarely scrapes the
		 * same target twice in a row, and the multi handle's cache would
		 * otherwise keep up to 4 idle sockets per handle it has seen, per
		 * worker, to targets scraped long ago (seen: the collector's
		 * descriptors growing by one a scrape). A worker holds at most one
		 * socket per type it scrapes at once.
		 */
		curl_easy_setopt(x->h, CURLOPT_FORBID_REUSE, 1L);
		if (job->ca_file)
			curl_easy_setopt(x->h, CURLOPT_CAINFO, job->ca_file);
		/* credentials go to the target's origin only: redirects elsewhere are never followed */
		if (job->auth_kind && strcmp(job->auth_kind, "bearer") == 0)
		{
			curl_easy_setopt(x->h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BEARER);
			curl_easy_setopt(x->h, CURLOPT_XOAUTH2_BEARER, job->auth_secret);
		}
		else if (job->auth_kind && strcmp(job->auth_kind, "basic") == 0)
		{
			curl_easy_setopt(x->h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
			curl_easy_setopt(x->h, CURLOPT_USERNAME, job->auth_username);
			curl_easy_setopt(x->h, CURLOPT_PASSWORD, job->auth_secret);
		}
		curl_multi_add_handle(multi, x->h);
		n++;
	}

	/* all of the target's requests at once */
	do
	{
		CURLMsg    *msg;
		int			left;

		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
			{
				Fetch	   *x;

				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
				x->rc = msg->data.result;
				if (x->rc == CURLE_OK && follow_redirect(multi, x))
				{
					running++;		/* re-added: the loop goes on */
					continue;
				}
				x->finished = true;
			}
		if (running > 0)
			curl_multi_poll(multi, NULL, 0, 200, NULL);
	} while (running > 0);

	for (int i = 0; i < n; i++)
	{
		Fetch	   *x = &f[i];
		long		code = 0;

		if (x->h == NULL)
			continue;
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
		if (is_stopping())
			;
		else if (!x->finished)
			add_error(&errors, x->type, "transfer did not finish");
		else if (x->too_big || x->rc == CURLE_FILESIZE_EXCEEDED)
			add_error(&errors, x->type, "reply larger than -max-body (%zu bytes)", settings.max_body);
		else if (x->rc == CURLE_OPERATION_TIMEDOUT)
			add_error(&errors, x->type, "timed out (%s)", curl_message(x));
		else if (x->rc != CURLE_OK)
			add_error(&errors, x->type, "%s", curl_message(x));
		else if (x->refused[0] && strncmp(x->refused, "more than", 9) == 0)
			add_error(&errors, x->type, "%s: not followed", x->refused);
		else if (x->refused[0])
			add_error(&errors, x->type, "redirected to another host or port (%s): not followed", x->refused);
		else if (code != 200)
		{
			char		first[96];

			snippet(&x->body, first, sizeof(first));
			add_error(&errors, x->type, "HTTP %ld%s%s", code, first[0] ? ": " : "", first);
		}
		else if (x->body.len == 0)
			add_error(&errors, x->type, "empty reply");
		else
		{
			SaveItem	item = {0};

			item.service = job->service;
			item.tenant = job->tenant;
			item.type = x->type;
			item.labels_json = job->labels;
			item.data = x->body.data;
			item.len = x->body.len;
			saver_submit(&item);
			if (item.status == 200)
			{
				stored++;
				metrics_ingested(x->type, x->body.len);
			}
			else if (strcmp(item.err.sqlstate, "22P03") == 0 || strcmp(item.err.sqlstate, "54000") == 0)
				add_error(&errors, x->type, "malformed profile: %s", item.err.message);
			else
				add_error(&errors, x->type, "not stored: %s", item.err.message);
		}
		curl_multi_remove_handle(multi, x->h);
		curl_easy_cleanup(x->h);
		buf_free(&x->body);
	}
	if (is_stopping())
		return;					/* not recorded: the target is due again next interval */
	errors_text(&errors, &errs);

	/* the outcome, for SQL and for /metrics */
	{
		double		secs = (now_us() - t0) / 1e6;
		const char *values[5];
		DbError		err;
		DbConn	   *c;
		PGresult   *res = NULL;

		snprintf(dur, sizeof(dur), "%.3f seconds", secs);
		snprintf(stored_s, sizeof(stored_s), "%d", stored);
		values[0] = job->target_id;
		values[1] = started;
		values[2] = dur;
		values[3] = errs.len ? errs.data : NULL;
		values[4] = stored_s;
		if ((c = db_acquire(&err)) != NULL)
		{
			res = db_exec(c, STMT_RECORD_SCRAPE, 5, values, NULL, NULL, 0, &err);
			db_release(c);
		}
		if (res == NULL)
			log_msg(LOG_WARN, "scrape of %s %s not recorded: %s", job->service, job->url, err.message);
		PQclear(res);
		metrics_scrape_done(atoll(job->target_id), job->service, job->instance, errs.len == 0, secs);
		if (errs.len)
			log_msg(LOG_DEBUG, "scrape %s %s failed: %s", job->service, job->url, errs.data);
		else
			log_msg(LOG_DEBUG, "scrape %s %s: %d profile(s) in %.0f ms", job->service, job->url, stored,
					secs * 1000);
	}
	buf_free(&errs);
}

static void
job_free(Job *j)
{
	free(j->target_id);
	free(j->service);
	free(j->url);
	free(j->labels);
	free(j->types);
	free(j->instance);
	free(j->tenant);
	free(j->ca_file);
	free(j->auth_kind);
	free(j->auth_username);
	if (j->auth_secret)
	{
		/* not left in freed memory */
		explicit_bzero(j->auth_secret, strlen(j->auth_secret));
		free(j->auth_secret);
	}
	free(j);
}

static void *
worker_main(void *arg)
{
	CURLM	   *multi = curl_multi_init();

	for (;;)
	{
		Job		   *job;

		pthread_mutex_lock(&lock);
		while (queue_head == NULL && !is_stopping())
			pthread_cond_wait(&work_cond, &lock);
		if (is_stopping())
		{
			pthread_mutex_unlock(&lock);
			break;
		}
		job = queue_head;
		queue_head = job->next;
		if (queue_head == NULL)
			queue_tail = NULL;
		pthread_mutex_unlock(&lock);

		if (multi)
			scrape(multi, job);
		job_free(job);

		pthread_mutex_lock(&lock);
		busy--;
		pthread_cond_signal(&sched_cond);
		pthread_mutex_unlock(&lock);
	}
	if (multi)
		curl_multi_cleanup(multi);
	return NULL;
}

/* ---- scheduling ---- */

static char *
dup_value(PGresult *res, int row, int col)
{
	return xstrndup(PQgetvalue(res, row, col), PQgetlength(res, row, col));
}

/* Claims up to n due targets and queues them; returns false on a DB error. */
static bool
claim(int n, DbError *err)
{
	char		nbuf[16];
	const char *values[2] = {collector_name, nbuf};
	DbConn	   *c;
	PGresult   *res;
	int64_t		t = now_us();

	snprintf(nbuf, sizeof(nbuf), "%d", n);
	if ((c = db_acquire(err)) == NULL)
		return false;
	res = db_exec(c, STMT_CLAIM_TARGETS, 2, values, NULL, NULL, 0, err);
	db_release(c);
	if (res == NULL)
		return false;
	for (int i = 0; i < PQntuples(res); i++)
	{
		Job		   *j = calloc(1, sizeof(Job));

		if (j == NULL)
			break;
		j->target_id = dup_value(res, i, 0);
		j->service = dup_value(res, i, 1);
		j->url = dup_value(res, i, 2);
		j->labels = dup_value(res, i, 3);
		j->types = dup_value(res, i, 4);
		j->cpu_seconds = atoi(PQgetvalue(res, i, 5));
		j->delta = PQgetvalue(res, i, 6)[0] == 't';
		j->timeout_ms = atol(PQgetvalue(res, i, 7));
		j->late_s = atof(PQgetvalue(res, i, 8));
		j->instance = dup_value(res, i, 9);
		j->tenant = dup_value(res, i, 10);
		j->ca_file = PQgetisnull(res, i, 11) ? NULL : dup_value(res, i, 11);
		j->auth_kind = PQgetisnull(res, i, 12) ? NULL : dup_value(res, i, 12);
		j->auth_username = PQgetisnull(res, i, 13) ? NULL : dup_value(res, i, 13);
		j->auth_secret = PQgetisnull(res, i, 14) ? NULL : dup_value(res, i, 14);
		j->claimed_us = t;
		pthread_mutex_lock(&lock);
		busy++;
		if (queue_tail)
			queue_tail->next = j;
		else
			queue_head = j;
		queue_tail = j;
		pthread_cond_signal(&work_cond);
		pthread_mutex_unlock(&lock);
	}
	PQclear(res);
	return true;
}

static void *
scheduler_main(void *arg)
{
	bool		statics_pending = nstatics > 0;
	int64_t		pause_until = 0;
	bool		warned = false;

	while (!is_stopping())
	{
		int			idle;
		struct timespec until;
		int64_t		t = now_us();

		if (statics_pending && t >= pause_until)
			statics_pending = !upsert_statics();
		pthread_mutex_lock(&lock);
		idle = nworkers - busy;
		pthread_mutex_unlock(&lock);
		if (idle > 0 && t >= pause_until)
		{
			DbError		err;

			if (!claim(idle, &err))
			{
				/*
				 * The database away: try again in a second. This role may not
				 * scrape, or the extension has no scrape targets: say so and
				 * look again in a minute.
				 */
				bool		transient = err.status == 503 && strcmp(err.sqlstate, "55000") != 0;

				if (!warned)
					log_msg(transient ? LOG_DEBUG : LOG_WARN, "scraping paused: %s", err.message);
				warned = true;
				pause_until = now_us() + (transient ? 1000000 : 60000000);
			}
			else
				warned = false;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long) settings.scrape_poll_ms * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&lock);
		if (!is_stopping())
			pthread_cond_timedwait(&sched_cond, &lock, &until);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

bool
scraper_start(void)
{
	char		host[256] = "localhost";

	if (settings.scrape_workers <= 0)
		return true;
	gethostname(host, sizeof(host) - 1);
	snprintf(collector_name, sizeof(collector_name), "%s:%d", host, (int) getpid());
	workers = calloc(settings.scrape_workers, sizeof(pthread_t));
	if (workers == NULL)
		return false;
	for (int i = 0; i < settings.scrape_workers; i++)
	{
		if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0)
			break;
		nworkers++;
	}
	if (nworkers == 0 || pthread_create(&scheduler, NULL, scheduler_main, NULL) != 0)
		return false;
	log_msg(LOG_INFO, "scraping profefe.scrape_targets with %d workers as %s%s", nworkers, collector_name,
			nstatics ? " (and -scrape.file's targets)" : "");
	return true;
}

/* Stops claiming, aborts scrapes in progress (they are not recorded). */
void
scraper_stop(void)
{
	if (nworkers == 0)
		return;
	pthread_mutex_lock(&lock);
	__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&work_cond);
	pthread_cond_broadcast(&sched_cond);
	pthread_mutex_unlock(&lock);
	pthread_join(scheduler, NULL);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	while (queue_head)
	{
		Job		   *j = queue_head;

		queue_head = j->next;
		job_free(j);
	}
	nworkers = 0;
}
