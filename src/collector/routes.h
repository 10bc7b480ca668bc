/*-------------------------------------------------------------------------
 *
 * routes.h
 *	  profefe's HTTP API (v0) route by route (routes.c).
 *
 * src/collector/routes.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_ROUTES_H
#define PROFEFE_COLLECTOR_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "params.h"
#include "util.h"

typedef enum Route
{
	ROUTE_PROFILES_POST, ROUTE_PROFILES_FIND, ROUTE_MERGE, ROUTE_BY_ID,
	ROUTE_SERVICES, ROUTE_VERSION, ROUTE_OLD_POST, ROUTE_OLD_GET,
	ROUTE_SERIES, ROUTE_FLAME, ROUTE_TOP, ROUTE_LABELS, ROUTE_LABEL_VALUES, ROUTE_TYPES, ROUTE_UI,
	ROUTE_METRICS, ROUTE_HEALTHZ, ROUTE_INGEST, ROUTE_OTLP, ROUTE_OTHER, ROUTE_COUNT
} Route;

typedef struct Reply
{
	int			status;
	const char *content_type;
	Buf			body;
	char		disposition[256];	/* Content-Disposition, or "" */
	const char *allow;			/* Allow header for 405, or NULL */
	bool		text_errors;	/* errors as text/plain with X-Go-Pprof: 1 (routes go tool pprof reads) */
	bool		cors;			/* Access-Control-Allow-Origin: * */
	const char *cache_control;	/* or NULL */
	const char *csp;			/* Content-Security-Policy, or NULL */
	const void *static_data;	/* a body that outlives the reply (embedded assets), instead of body */
	size_t		static_len;
	bool		www_authenticate;	/* 401: say how to authenticate */
	int			retry_after;	/* 429: seconds, or 0 */
	bool		replayed;		/* a save answered from its idempotency key: Idempotent-Replayed: true */
} Reply;

typedef struct Request
{
	const char *method;
	const char *path;			/* percent-decoded path */
	Query		query;
	const char *body;
	size_t		body_len;
	const char *tenant;			/* whose data: the caller's (auth.c), never the client's to choose */
	unsigned	rights;			/* RIGHT_* the caller holds */
	const char *idempotency_key;	/* the Idempotency-Key header, or NULL */
	const char *content_type;	/* the Content-Type header, or NULL */
	const char *content_encoding;	/* the Content-Encoding header, or NULL */
} Request;

Route		route_of(const char *method, const char *path);
bool		route_text_errors(Route route);
unsigned	route_rights(Route route);
void		handle_request(Route route, const Request *req, Reply *reply);
void		reply_error(Reply *reply, int status, const char *fmt,...) __attribute__((format(printf, 3, 4)));

#endif
