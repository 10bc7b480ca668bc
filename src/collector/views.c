/*-------------------------------------------------------------------------
 *
 * views.c
 *	  The JSON views the web UI and Grafana's JSON data sources read: a
 *	  merge as flame graph rows or top rows (against a baseline too), and
 *	  the types, label keys and values for pickers. Each is one SQL call
 *	  over the extension's functions (pprof_flamegraph_rows, pprof_top,
 *	  profile_labels, service_types), so they equal what SQL gives.
 *
 * src/collector/views.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "params.h"
#include "request.h"
#include "views.h"

/*
 * A whole number parameter in [lo, hi]; NULL (no limit) when missing or
 * empty. false, with the reply set, when it is not one.
 */
static bool
count_param(const Request *req, Reply *reply, const char *name, long lo, long hi, char out[24], const char **value)
{
	const char *v = optional(req, name);
	char	   *end;
	long		n;

	*value = NULL;
	if (v == NULL)
		return true;
	n = strtol(v, &end, 10);
	if (*end != '\0' || v[0] == '+' || v[0] == ' ' || n < lo || n > hi)
	{
		reply_error(reply, 400, "bad request: invalid \"%s\" %s: want a whole number from %ld to %ld", name, v, lo, hi);
		return false;
	}
	snprintf(out, 24, "%ld", n);
	*value = out;
	return true;
}

/*
 * The baseline of a comparison: base_from, base_to and base_labels, each
 * defaulting to the selection's own, so that a baseline can be another
 * range, another label set, or both. *given is false when none is there.
 */
typedef struct Baseline
{
	bool		given;
	char		from[64];
	char		to[64];
	Labels		labels;
	Buf			labels_json;
} Baseline;

static bool
baseline(const Request *req, Reply *reply, const Selection *s, Baseline *b)
{
	bool		has_from,
				has_to;

	memset(b, 0, sizeof(*b));
	b->given = optional(req, "base_from") || optional(req, "base_to") || optional(req, "base_labels");
	if (!b->given)
		return true;
	if (!time_param(req, reply, "base_from", false, b->from, &has_from) ||
		!time_param(req, reply, "base_to", false, b->to, &has_to))
		return false;
	if (!has_from)
		memcpy(b->from, s->from, sizeof(b->from));
	if (!has_to)
		memcpy(b->to, s->to, sizeof(b->to));
	if (time_compare(b->from, b->to) > 0)
	{
		reply_error(reply, 400, "bad request: \"base_from\" (%s) is after \"base_to\" (%s)", b->from, b->to);
		return false;
	}
	if (optional(req, "base_labels"))
	{
		if (!labels_param(req, reply, "base_labels", &b->labels))
			return false;
		labels_json_object(&b->labels, &b->labels_json);
	}
	else
		buf_puts(&b->labels_json, s->labels_json.data ? s->labels_json.data : "{}");
	return true;
}

static void
baseline_free(Baseline *b)
{
	labels_free(&b->labels);
	buf_free(&b->labels_json);
}

/*
 * flamegraph and top: a merge of the selection (with a baseline, of both),
 * shown one way. Columns of the statements: selection empty, baseline
 * empty, the body.
 */
static void
merged_view(const Request *req, Reply *reply, DbStmt one, DbStmt two, const char *count_name, long count_lo,
			long count_hi, bool with_top)
{
	Selection	s;
	Baseline	b;
	char		count_s[24],
				top_s[24];
	const char *values[11];
	const char *top = NULL;
	int			n;
	PGresult   *res;

	memset(&b, 0, sizeof(b));
	if (!selection(req, reply, &s, true) || !baseline(req, reply, &s, &b))
		goto done;
	if (strcmp(s.type, "trace") == 0)
	{
		reply_error(reply, 400, "bad request: traces have no flame graph or top (Go execution traces are not pprof)");
		goto done;
	}
	selection_values(&s, values);
	values[5] = optional(req, "sample_type");
	if (!count_param(req, reply, count_name, count_lo, count_hi, count_s, &values[6]))
		goto done;
	/* the flame graph with its top rows too: one merge for what the UI shows */
	if (with_top && !count_param(req, reply, "top", 0, INT_MAX, top_s, &top))
		goto done;
	if (b.given)
	{
		values[7] = b.from;
		values[8] = b.to;
		values[9] = b.labels_json.data;
		values[10] = top;
		n = with_top ? 11 : 10;
	}
	else
	{
		values[7] = top;
		n = with_top ? 8 : 7;
	}
	res = query(req, b.given ? two : one, n, values, 0, reply);
	if (res && strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		reply_error(reply, 404, "nothing found");
	else if (res && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		reply_error(reply, 404, "nothing found for the baseline (%s to %s, labels %s)", b.from, b.to,
					b.labels_json.data);
	else if (res)
		reply_body(reply, PQgetvalue(res, 0, 2), PQgetlength(res, 0, 2));
	PQclear(res);
done:
	selection_free(&s);
	baseline_free(&b);
}

/* GET /api/0/profiles/flamegraph */
void
view_flamegraph(const Request *req, Reply *reply)
{
	merged_view(req, reply, STMT_FLAME, STMT_FLAME_DIFF, "max_nodes", 2, INT_MAX, true);
}

/* GET /api/0/profiles/top */
void
view_top(const Request *req, Reply *reply)
{
	merged_view(req, reply, STMT_TOP, STMT_TOP_DIFF, "n", 0, INT_MAX, false);
}

/* GET /api/0/labels (keys) and /api/0/labels/values?key= */
void
view_labels(const Request *req, Reply *reply, bool values_of_key)
{
	Selection	s;
	const char *values[6];
	const char *key = NULL;
	PGresult   *res;

	if (!selection(req, reply, &s, true) || (values_of_key && !(key = required(req, reply, "key"))))
	{
		selection_free(&s);
		return;
	}
	selection_values(&s, values);
	values[5] = key;
	res = query(req, values_of_key ? STMT_LABEL_VALUES : STMT_LABEL_KEYS, values_of_key ? 6 : 5, values, 0, reply);
	if (res)
		reply_body(reply, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
	selection_free(&s);
	PQclear(res);
}

/* GET /api/0/types?service=[&from=&to=]: the types a service has profiles of */
void
view_types(const Request *req, Reply *reply)
{
	const char *service = required(req, reply, "service");
	char		from[64],
				to[64];
	bool		has_from,
				has_to;
	const char *values[3];
	PGresult   *res;

	if (service == NULL ||
		!time_param(req, reply, "from", false, from, &has_from) ||
		!time_param(req, reply, "to", false, to, &has_to))
		return;
	values[0] = service;
	values[1] = has_from ? from : NULL;
	values[2] = has_to ? to : NULL;
	res = query(req, STMT_TYPES, 3, values, 0, reply);
	if (res)
		reply_body(reply, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
	PQclear(res);
}
