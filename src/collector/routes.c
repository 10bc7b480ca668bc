/*-------------------------------------------------------------------------
 *
 * routes.c
 *	  profefe's HTTP API (v0) route by route: parameters checked here with
 *	  profefe's messages, then one SQL call each (all parameterized). JSON
 *	  replies are {"code":200,"body":...} or {"code":N,"error":"..."}.
 *
 * src/collector/routes.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "auth.h"
#include "db.h"
#include "metrics.h"
#include "params.h"
#include "otlp.h"
#include "pyroscope.h"
#include "request.h"
#include "routes.h"
#include "saver.h"
#include "settings.h"
#include "ui.h"
#include "util.h"
#include "views.h"

#ifndef GIT_COMMIT
#define GIT_COMMIT "unknown"
#endif
#ifndef BUILD_TIME
#define BUILD_TIME "unknown"
#endif

#define API "/api/0"
#define MAX_IDS 10000
#define MAX_FILENAME 200		/* of a download named after its ids */

Route
route_of(const char *method, const char *path)
{
	bool		post = strcmp(method, "POST") == 0;

	if (strcmp(path, API "/profiles") == 0)
		return post ? ROUTE_PROFILES_POST : ROUTE_PROFILES_FIND;
	if (strcmp(path, API "/profiles/merge") == 0)
		return ROUTE_MERGE;
	if (strcmp(path, API "/profiles/series") == 0)
		return ROUTE_SERIES;
	if (strcmp(path, API "/profiles/flamegraph") == 0)
		return ROUTE_FLAME;
	if (strcmp(path, API "/profiles/top") == 0)
		return ROUTE_TOP;
	if (strncmp(path, API "/profiles/", sizeof(API "/profiles/") - 1) == 0)
		return ROUTE_BY_ID;
	if (strcmp(path, API "/services") == 0)
		return ROUTE_SERVICES;
	if (strcmp(path, API "/version") == 0)
		return ROUTE_VERSION;
	if (strcmp(path, API "/profile") == 0)
		return post ? ROUTE_OLD_POST : ROUTE_OLD_GET;
	if (strcmp(path, API "/labels") == 0)
		return ROUTE_LABELS;
	if (strcmp(path, API "/labels/values") == 0)
		return ROUTE_LABEL_VALUES;
	if (strcmp(path, API "/types") == 0)
		return ROUTE_TYPES;
	if (strcmp(path, "/") == 0 || strncmp(path, "/ui/", 4) == 0)
		return ROUTE_UI;
	if (strcmp(path, "/metrics") == 0)
		return ROUTE_METRICS;
	if (strcmp(path, "/healthz") == 0)
		return ROUTE_HEALTHZ;
	if (strcmp(path, "/ingest") == 0)
		return ROUTE_INGEST;
	if (strcmp(path, "/v1development/profiles") == 0)
		return ROUTE_OTLP;
	return ROUTE_OTHER;
}

/* POST /api/0/profiles and the first README's POST /api/0/profile */
static void
save(const Request *req, Reply *reply)
{
	const char *service,
			   *type,
			   *instance_id;
	char		created_at[64];
	bool		has_created;
	Labels		labels = {0};
	Buf			lj = {0};
	SaveItem	item = {0};
	char		when[32];

	if (!(service = required(req, reply, "service")) || !(type = required(req, reply, "type")) ||
		!check_type(type, reply) ||
		!time_param(req, reply, "created_at", false, created_at, &has_created) ||
		!labels_param(req, reply, "labels", &labels))
		return;
	instance_id = query_get(&req->query, "instance_id");
	if (instance_id && instance_id[0] == '\0')
		instance_id = NULL;
	if (req->body_len == 0)
	{
		labels_free(&labels);
		reply_error(reply, 400, "malformed profile: empty profile");
		return;
	}
	labels_json_object(&labels, &lj);
	if (lj.failed)
	{
		labels_free(&labels);
		buf_free(&lj);
		reply_error(reply, 500, "out of memory");
		return;
	}
	item.service = service;
	item.type = type;
	item.labels_json = lj.data;
	item.created_at = has_created ? created_at : NULL;
	item.instance_id = instance_id;
	item.data = req->body;
	item.len = req->body_len;
	item.tenant = req->tenant;
	/* a retry of a POST whose reply was lost names the same key (header, or request_id=) */
	item.key = req->idempotency_key ? req->idempotency_key : query_get(&req->query, "request_id");
	if (item.key && (item.key[0] == '\0' || strlen(item.key) > 255 || strspn(item.key,
			"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") != strlen(item.key)))
	{
		labels_free(&labels);
		buf_free(&lj);
		reply_error(reply, 400, "invalid idempotency key: 1 to 255 printable ASCII characters, without spaces");
		return;
	}
	saver_submit(&item);

	if (item.status != 200)
		reply_db_error(reply, &item.err);
	else
	{
		Buf		   *b = &reply->body;

		if (!item.replayed)
			metrics_ingested(type, req->body_len);
		reply->replayed = item.replayed;
		reply->status = 200;
		reply->content_type = "application/json";
		buf_puts(b, "{\"code\":200,\"body\":{\"id\":");
		buf_json_string(b, item.id, strlen(item.id));
		buf_puts(b, ",\"type\":");
		buf_json_string(b, type, strlen(type));
		buf_puts(b, ",\"service\":");
		buf_json_string(b, service, strlen(service));
		if (instance_id)
		{
			buf_puts(b, ",\"instance_id\":");
			buf_json_string(b, instance_id, strlen(instance_id));
		}
		if (labels.n > 0)
		{
			buf_puts(b, ",\"labels\":");
			labels_json_array(&labels, b);
		}
		format_utc_seconds(profile_id_seconds(item.id), when);
		buf_printf(b, ",\"created_at\":\"%s\"}}\n", when);
	}
	labels_free(&labels);
	buf_free(&lj);
}

/* GET /api/0/profiles */
static void
find(const Request *req, Reply *reply)
{
	Selection	s;
	const char *limit = query_get(&req->query, "limit");
	char		limit_s[16];
	const char *values[6];
	PGresult   *res;

	if (!selection(req, reply, &s, false))
	{
		selection_free(&s);
		return;
	}
	values[5] = NULL;
	if (limit && limit[0])
	{
		char	   *end;
		long		n = strtol(limit, &end, 10);

		if (*end != '\0' || n < 0 || n > INT_MAX || limit[0] == '-' || limit[0] == '+' || limit[0] == ' ')
		{
			selection_free(&s);
			reply_error(reply, 400, "bad request: invalid \"limit\" %s: want a whole number >= 0", limit);
			return;
		}
		if (n > 0)
		{
			snprintf(limit_s, sizeof(limit_s), "%ld", n);
			values[5] = limit_s;
		}
	}
	selection_values(&s, values);
	res = query(req, STMT_FIND, 6, values, 0, reply);
	selection_free(&s);
	if (res && strcmp(PQgetvalue(res, 0, 1), "0") == 0)
		reply_error(reply, 404, "nothing found");
	else if (res)
		reply_body(reply, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
	PQclear(res);
}

/* GET /api/0/profiles/merge and the first README's GET /api/0/profile */
static void
merge(const Request *req, Reply *reply)
{
	Selection	s;
	const char *values[5];
	const char *pgo;
	bool		pgo_on;
	PGresult   *res;

	if (!selection(req, reply, &s, true))
	{
		selection_free(&s);
		return;
	}
	if (strcmp(s.type, "trace") == 0)
	{
		selection_free(&s);
		reply_error(reply, 405, "can't merge profiles of type trace (Go execution traces are not pprof)");
		return;
	}
	/* pgo=1: what Go's profile-guided optimization reads, to commit as default.pgo */
	pgo = query_get(&req->query, "pgo");
	if (pgo && strcmp(pgo, "1") != 0 && strcmp(pgo, "true") != 0 && strcmp(pgo, "0") != 0 && strcmp(pgo, "false") != 0)
	{
		selection_free(&s);
		reply_error(reply, 400, "bad request: pgo must be 1, true, 0 or false");
		return;
	}
	pgo_on = pgo && (strcmp(pgo, "1") == 0 || strcmp(pgo, "true") == 0);
	selection_values(&s, values);
	res = query(req, pgo_on ? STMT_MERGE_PGO : STMT_MERGE, 5, values, 1, reply);
	if (res && PQgetisnull(res, 0, 0))
		reply_error(reply, 404, "nothing found");
	else if (res)
		reply_bytes(reply, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0), pgo_on ? "default.pgo" : s.type);
	selection_free(&s);
	PQclear(res);
}

/*
 * The step a series is cut into when none is given: the shortest of these
 * that keeps the range to at most 300 points (a chart's width).
 */
static int64_t
default_step_ms(int64_t span_seconds)
{
	static const int64_t steps[] = {10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
	86400, 7 * 86400};
	int			i = 0;

	while (i < (int) (sizeof(steps) / sizeof(steps[0])) - 1 && span_seconds / steps[i] > 300)
		i++;
	return steps[i] * 1000;
}

/*
 * GET /api/0/profiles/series: per step, how many profiles there are and
 * the total of a sample type (of the samples whose stack matches func),
 * one series per value of group_by; read from rollups and the totals kept
 * at save time, so a month answers without decoding a profile.
 */
static void
series(const Request *req, Reply *reply)
{
	Selection	s;
	const char *step = query_get(&req->query, "step");
	const char *opt[3] = {"sample_type", "func", "group_by"};
	const char *values[9];
	char		step_s[48];
	char		why[128];
	int64_t		ms;
	PGresult   *res;

	if (!selection(req, reply, &s, true))
	{
		selection_free(&s);
		return;
	}
	if (step && step[0])
	{
		bool		ok = duration_parse(step, &ms, why, sizeof(why));

		if (ok && ms < 1)
		{
			ok = false;
			snprintf(why, sizeof(why), "want at least 1ms");
		}
		if (!ok)
		{
			selection_free(&s);
			reply_error(reply, 400, "bad request: invalid \"step\" %s: %s", step, why);
			return;
		}
	}
	else
		ms = default_step_ms(time_span_seconds(s.from, s.to));
	snprintf(step_s, sizeof(step_s), "%lld milliseconds", (long long) ms);
	values[0] = s.service;
	values[1] = s.type;
	values[2] = s.from;
	values[3] = s.to;
	values[4] = step_s;
	values[5] = s.labels_json.data;
	for (int i = 0; i < 3; i++)
	{
		values[6 + i] = query_get(&req->query, opt[i]);
		if (values[6 + i] && values[6 + i][0] == '\0')
			values[6 + i] = NULL;
	}
	res = query(req, STMT_SERIES, 9, values, 0, reply);
	if (res)
		reply_body(reply, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
	selection_free(&s);
	PQclear(res);
}

/* GET /api/0/profiles/{id} and /api/0/profiles/{id1}+{id2}+... */
static void
by_id(const Request *req, Reply *reply)
{
	const char *ids = req->path + sizeof(API "/profiles/") - 1;
	size_t		len = strlen(ids);
	int			n = 0;
	Buf			arr = {0};
	PGresult   *res;

	buf_puts(&arr, "{");
	for (const char *p = ids;; n++)
	{
		const char *end = strchr(p, '+');
		size_t		l = end ? (size_t) (end - p) : strlen(p);

		if (!profile_id_valid(p, l))
		{
			buf_free(&arr);
			reply_error(reply, 400, "bad request: malformed profile id \"%.*s\"", (int) (l > 64 ? 64 : l), p);
			return;
		}
		if (n >= MAX_IDS)
		{
			buf_free(&arr);
			reply_error(reply, 400, "bad request: more than %d profile ids", MAX_IDS);
			return;
		}
		if (n)
			buf_puts(&arr, ",");
		buf_append(&arr, p, l);
		if (!end)
			break;
		p = end + 1;
	}
	n++;
	buf_puts(&arr, "}");
	if (n == 1)
	{
		const char *values[1] = {ids};

		res = query(req, STMT_GET, 1, values, 1, reply);
		if (res && PQntuples(res) == 0)
			reply_error(reply, 404, "profile \"%.*s\" not found", (int) len, ids);
		else if (res)
			reply_bytes(reply, PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1), ids);
	}
	else
	{
		const char *values[1] = {arr.data};

		char		name[MAX_FILENAME + 1];

		/* named after the ids, as profefe's collector names it; a long list by its first id */
		if (len <= MAX_FILENAME)
			snprintf(name, sizeof(name), "%s", ids);
		else
			snprintf(name, sizeof(name), "%.20s+%d-more", ids, n - 1);
		res = query(req, STMT_MERGE_IDS, 1, values, 1, reply);
		if (res)
			reply_bytes(reply, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0), name);
	}
	buf_free(&arr);
	PQclear(res);
}

static void
services(const Request *req, Reply *reply)
{
	PGresult   *res = query(req, STMT_SERVICES, 0, NULL, 0, reply);

	if (res)
		reply_body(reply, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
	PQclear(res);
}

static void
healthz(Reply *reply)
{
	PGresult   *res = query(NULL, STMT_HEALTH, 0, NULL, 0, reply);

	if (res)
		reply_body(reply, "\"ok\"", 4);
	PQclear(res);
}

/* A JSON string member, or null when v is NULL. */
static void
json_member(Buf *b, const char *key, const char *v)
{
	buf_printf(b, ",\"%s\":", key);
	if (v)
		buf_json_string(b, v, strlen(v));
	else
		buf_puts(b, "null");
}

/*
 * The collector's version and build, as profefe's collector reports them
 * (its go_version is our compiler), plus the libraries it runs on and the
 * versions of PostgreSQL and the extension it talks to (null while the
 * database cannot be reached: the route answers regardless).
 */
static void
version(Reply *reply)
{
	DbError		err;
	DbConn	   *c = db_acquire(&err);
	PGresult   *res = NULL;
	Buf		   *b = &reply->body;
	char		libpq[16];
	int			pqv = PQlibVersion();

	if (c)
	{
		res = db_exec(c, STMT_VERSIONS, 0, NULL, NULL, NULL, 0, &err);
		db_release(c);
	}
	snprintf(libpq, sizeof(libpq), "%d.%d", pqv / 10000, pqv % 10000);
	reply->status = 200;
	reply->content_type = "application/json";
	buf_printf(b, "{\"code\":200,\"body\":{\"version\":\"%s\"", COLLECTOR_VERSION);
	json_member(b, "commit", GIT_COMMIT);
	json_member(b, "build_time", BUILD_TIME);
	json_member(b, "compiler", __VERSION__);
	json_member(b, "libmicrohttpd", MHD_get_version());
	json_member(b, "libcurl", curl_version_info(CURLVERSION_NOW)->version);
	json_member(b, "libpq", libpq);
	json_member(b, "postgres", res ? PQgetvalue(res, 0, 0) : NULL);
	json_member(b, "extension", res ? PQgetvalue(res, 0, 1) : NULL);
	json_member(b, "auth", auth_mode_name(settings.auth_mode));
	buf_puts(b, "}}\n");
	PQclear(res);
}

static bool
method_is(const Request *req, Reply *reply, const char *allow)
{
	bool		get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	if ((strcmp(allow, "POST") == 0 && strcmp(req->method, "POST") == 0) ||
		(strncmp(allow, "GET", 3) == 0 && get))
		return true;
	reply->allow = allow;
	reply_error(reply, 405, "method %s not allowed (allowed: %s)", req->method, allow);
	return false;
}

/* what go tool pprof fetches: errors as text it prints (request.c) */
bool
route_text_errors(Route route)
{
	return route == ROUTE_MERGE || route == ROUTE_BY_ID || route == ROUTE_OLD_GET;
}

/*
 * The rights a route needs (docs/security.md): saving needs write, reading
 * (the UI too) read, /metrics admin (it names every tenant's scrape
 * targets); /healthz nothing (it says only whether PostgreSQL answers).
 */
unsigned
route_rights(Route route)
{
	switch (route)
	{
		case ROUTE_HEALTHZ:
			return 0;
		case ROUTE_PROFILES_POST:
		case ROUTE_OLD_POST:
		case ROUTE_INGEST:
		case ROUTE_OTLP:
			return RIGHT_WRITE;
		case ROUTE_METRICS:
			return RIGHT_ADMIN;
		default:
			return RIGHT_READ;
	}
}

void
handle_request(Route route, const Request *req, Reply *reply)
{
	/* any page may read what GET answers */
	reply->text_errors = route_text_errors(route);
	reply->cors = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	switch (route)
	{
		case ROUTE_PROFILES_POST:
		case ROUTE_OLD_POST:
			save(req, reply);
			break;
		case ROUTE_PROFILES_FIND:
			if (method_is(req, reply, "GET, HEAD, POST"))
				find(req, reply);
			break;
		case ROUTE_OLD_GET:
			if (method_is(req, reply, "GET, HEAD, POST"))
				merge(req, reply);
			break;
		case ROUTE_MERGE:
			if (method_is(req, reply, "GET, HEAD"))
				merge(req, reply);
			break;
		case ROUTE_SERIES:
			if (method_is(req, reply, "GET, HEAD"))
				series(req, reply);
			break;
		case ROUTE_BY_ID:
			if (method_is(req, reply, "GET, HEAD"))
				by_id(req, reply);
			break;
		case ROUTE_FLAME:
			if (method_is(req, reply, "GET, HEAD"))
				view_flamegraph(req, reply);
			break;
		case ROUTE_TOP:
			if (method_is(req, reply, "GET, HEAD"))
				view_top(req, reply);
			break;
		case ROUTE_LABELS:
		case ROUTE_LABEL_VALUES:
			if (method_is(req, reply, "GET, HEAD"))
				view_labels(req, reply, route == ROUTE_LABEL_VALUES);
			break;
		case ROUTE_TYPES:
			if (method_is(req, reply, "GET, HEAD"))
				view_types(req, reply);
			break;
		case ROUTE_UI:
			if (method_is(req, reply, "GET, HEAD"))
				ui_serve(req, reply);
			break;
		case ROUTE_SERVICES:
			if (method_is(req, reply, "GET, HEAD"))
				services(req, reply);
			break;
		case ROUTE_VERSION:
			if (method_is(req, reply, "GET, HEAD"))
				version(reply);
			break;
		case ROUTE_METRICS:
			if (method_is(req, reply, "GET, HEAD"))
			{
				reply->status = 200;
				reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
				metrics_render(&reply->body);
			}
			break;
		case ROUTE_HEALTHZ:
			if (method_is(req, reply, "GET, HEAD"))
				healthz(reply);
			break;
		case ROUTE_INGEST:
			if (method_is(req, reply, "POST"))
				pyroscope_ingest(req, reply);
			break;
		case ROUTE_OTLP:
			if (method_is(req, reply, "POST"))
				otlp_export(req, reply);
			break;
		default:
			reply_error(reply, 404, "no such route: %s %s", req->method, req->path);
			break;
	}
	if (reply->body.failed)
		reply_error(reply, 500, "out of memory");
}
