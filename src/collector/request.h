/*-------------------------------------------------------------------------
 *
 * request.h
 *	  What every route shares (request.c): replies (JSON, bytes, the errors
 *	  go tool pprof prints), the parameters checked with profefe's messages,
 *	  and one pooled SQL call.
 *
 * src/collector/request.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_REQUEST_H
#define PROFEFE_COLLECTOR_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"
#include "params.h"
#include "routes.h"

/* The parameters find, merge and the views share. */
typedef struct Selection
{
	const char *service;
	const char *type;
	char		from[64];
	char		to[64];
	Labels		labels;
	Buf			labels_json;
} Selection;

void		reply_db_error(Reply *reply, const DbError *err);
void		reply_bytes(Reply *reply, const char *data, size_t len, const char *filename);
void		reply_body(Reply *reply, const char *json, size_t len);
PGresult   *query(const Request *req, DbStmt stmt, int nparams, const char *const *values, int result_format, Reply *reply);
const char *required(const Request *req, Reply *reply, const char *name);
const char *optional(const Request *req, const char *name);
bool		check_type(const char *type, Reply *reply);
bool		time_param(const Request *req, Reply *reply, const char *name, bool need, char out[64], bool *given);
bool		labels_param(const Request *req, Reply *reply, const char *name, Labels *labels);
bool		selection(const Request *req, Reply *reply, Selection *s, bool type_needed);
void		selection_values(const Selection *s, const char **values);
void		selection_free(Selection *s);

#endif
