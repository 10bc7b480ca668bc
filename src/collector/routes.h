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

#include <stddef.h>

#include "params.h"
#include "util.h"

typedef enum Route
{
	ROUTE_PROFILES_POST, ROUTE_PROFILES_FIND, ROUTE_MERGE, ROUTE_BY_ID,
	ROUTE_SERVICES, ROUTE_VERSION, ROUTE_OLD_POST, ROUTE_OLD_GET,
	ROUTE_SERIES, ROUTE_METRICS, ROUTE_HEALTHZ, ROUTE_OTHER, ROUTE_COUNT
} Route;

typedef struct Reply
{
	int			status;
	const char *content_type;
	Buf			body;
	char		disposition[256];	/* Content-Disposition, or "" */
	const char *allow;			/* Allow header for 405, or NULL */
} Reply;

typedef struct Request
{
	const char *method;
	const char *path;			/* percent-decoded path */
	Query		query;
	const char *body;
	size_t		body_len;
} Request;

Route		route_of(const char *method, const char *path);
void		handle_request(Route route, const Request *req, Reply *reply);
void		reply_error(Reply *reply, int status, const char *fmt,...) __attribute__((format(printf, 3, 4)));

#endif
