/*-------------------------------------------------------------------------
 *
 * request.c
 *	  What every route shares: replies, parameters, one pooled SQL call.
 *	  JSON replies are {"code":200,"body":...} or {"code":N,"error":"..."};
 *	  routes go tool pprof reads (Reply.text_errors) answer errors as
 *	  text/plain with X-Go-Pprof: 1, which it prints instead of a bare
 *	  status line.
 *
 * src/collector/request.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "params.h"
#include "request.h"
#include "util.h"

void
reply_error(Reply *reply, int status, const char *fmt,...)
{
	char		msg[2048];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply->status = status;
	buf_free(&reply->body);
	if (reply->text_errors)
	{
		/* go tool pprof prints the body of a text/plain error marked X-Go-Pprof */
		reply->content_type = "text/plain; charset=utf-8";
		buf_printf(&reply->body, "%s\n", msg);
		return;
	}
	reply->content_type = "application/json";
	buf_printf(&reply->body, "{\"code\":%d,\"error\":", status);
	buf_json_string(&reply->body, msg, strlen(msg));
	buf_puts(&reply->body, "}\n");
}

void
reply_db_error(Reply *reply, const DbError *err)
{
	/* the decoder's reasons, prefixed as profefe's collector did */
	if (strcmp(err->sqlstate, "22P03") == 0 || strcmp(err->sqlstate, "54000") == 0)
		reply_error(reply, err->status, "malformed profile: %s", err->message);
	else
		reply_error(reply, err->status, "%s", err->message);
}

void
reply_bytes(Reply *reply, const char *data, size_t len, const char *filename)
{
	reply->status = 200;
	reply->content_type = "application/octet-stream";
	buf_free(&reply->body);
	buf_append(&reply->body, data, len);
	snprintf(reply->disposition, sizeof(reply->disposition), "attachment; filename=\"%s\"", filename);
}

/*
 * Runs one statement on a pooled connection, for the request's tenant
 * (req NULL: for none, e.g. the health check). NULL, with the error reply
 * set, when the database is unavailable or the statement fails.
 */
PGresult *
query(const Request *req, DbStmt stmt, int nparams, const char *const *values, int result_format, Reply *reply)
{
	DbError		err;
	DbConn	   *c = db_acquire(&err);
	PGresult   *res;

	if (c == NULL)
	{
		reply_db_error(reply, &err);
		return NULL;
	}
	res = db_exec_as(c, req ? req->tenant : NULL, stmt, nparams, values, NULL, NULL, result_format, &err);
	db_release(c);
	if (res == NULL)
		reply_db_error(reply, &err);
	return res;
}

/* {"code":200,"body":<json>} */
void
reply_body(Reply *reply, const char *json, size_t len)
{
	reply->status = 200;
	reply->content_type = "application/json";
	buf_free(&reply->body);
	buf_puts(&reply->body, "{\"code\":200,\"body\":");
	buf_append(&reply->body, json, len);
	buf_puts(&reply->body, "}\n");
}

/* A required parameter; NULL (and the reply set) when missing or empty. */
const char *
required(const Request *req, Reply *reply, const char *name)
{
	const char *v = query_get(&req->query, name);

	if (v == NULL || v[0] == '\0')
	{
		reply_error(reply, 400, "bad request: missing \"%s\"", name);
		return NULL;
	}
	return v;
}

bool
check_type(const char *type, Reply *reply)
{
	if (profile_type_find(type) == NULL)
	{
		Buf			known = {0};

		profile_type_list(&known);
		reply_error(reply, 400, "bad request: unknown profile type \"%s\" (known: %s)", type,
					known.data ? known.data : "");
		buf_free(&known);
		return false;
	}
	return true;
}

bool
time_param(const Request *req, Reply *reply, const char *name, bool need, char out[64], bool *given)
{
	const char *v = need ? required(req, reply, name) : query_get(&req->query, name);
	char		why[128];

	*given = false;
	if (v == NULL)
		return !need;
	if (!need && v[0] == '\0')
		return true;
	if (!time_parse(v, out, why, sizeof(why)))
	{
		reply_error(reply, 400, "bad request: invalid \"%s\" %s: %s", name, v, why);
		return false;
	}
	*given = true;
	return true;
}

/* labels (k=v,k2=v2) from the parameter name: profefe's "labels" or a baseline's */
bool
labels_param(const Request *req, Reply *reply, const char *name, Labels *labels)
{
	char		why[160];

	if (!labels_parse(query_get(&req->query, name), labels, why, sizeof(why)))
	{
		if (strcmp(name, "labels") == 0)
			reply_error(reply, 400, "%s", why);
		else
			reply_error(reply, 400, "bad request: invalid \"%s\": %s", name,
						strncmp(why, "bad request: ", 13) == 0 ? why + 13 : why);
		return false;
	}
	return true;
}

/* An optional parameter: NULL when missing or empty. */
const char *
optional(const Request *req, const char *name)
{
	const char *v = query_get(&req->query, name);

	return v && v[0] ? v : NULL;
}

bool
selection(const Request *req, Reply *reply, Selection *s, bool type_needed)
{
	bool		given;

	memset(s, 0, sizeof(*s));
	if (!(s->service = required(req, reply, "service")))
		return false;
	s->type = type_needed ? required(req, reply, "type") : query_get(&req->query, "type");
	if (type_needed && s->type == NULL)
		return false;
	if (s->type && s->type[0] == '\0')
		s->type = NULL;
	if (s->type && !check_type(s->type, reply))
		return false;
	if (!time_param(req, reply, "from", true, s->from, &given) ||
		!time_param(req, reply, "to", true, s->to, &given) ||
		!labels_param(req, reply, "labels", &s->labels))
		return false;
	if (time_compare(s->from, s->to) > 0)
	{
		reply_error(reply, 400, "bad request: \"from\" (%s) is after \"to\" (%s)",
					query_get(&req->query, "from"), query_get(&req->query, "to"));
		return false;
	}
	labels_json_object(&s->labels, &s->labels_json);
	return true;
}

/* $1..$5 of the statements that take a selection: service, type, from, to, labels */
void
selection_values(const Selection *s, const char **values)
{
	values[0] = s->service;
	values[1] = s->type;
	values[2] = s->from;
	values[3] = s->to;
	values[4] = s->labels_json.data;
}

void
selection_free(Selection *s)
{
	labels_free(&s->labels);
	buf_free(&s->labels_json);
}

