/*-------------------------------------------------------------------------
 *
 * db.h
 *	  A fixed pool of libpq connections with the collector's statements prepared (db.c).
 *
 * src/collector/db.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_DB_H
#define PROFEFE_COLLECTOR_DB_H

#include <stdbool.h>

#include <libpq-fe.h>

typedef struct DbConn DbConn;

typedef enum DbStmt
{
	STMT_SAVE, STMT_FIND, STMT_MERGE, STMT_GET, STMT_MERGE_IDS, STMT_SERVICES,
	STMT_HEALTH, STMT_RETENTION, STMT_CLAIM_TARGETS, STMT_RECORD_SCRAPE, STMT_UPSERT_TARGET,
	STMT_VERSIONS, STMT_REFRESH, STMT_SERIES, STMT_FLAME, STMT_FLAME_DIFF, STMT_TOP, STMT_TOP_DIFF,
	STMT_LABEL_KEYS, STMT_LABEL_VALUES, STMT_TYPES, STMT_TENANT, STMT_VERIFY_TOKEN, STMT_SAVE_ONCE,
	STMT_SAVE_GUESS, STMT_SAVE_FOLDED, STMT_MERGE_PGO, STMT_SAVE_MANY, STMT_PACK,
	STMT_COUNT
} DbStmt;

/* What went wrong with a query, as an HTTP status and a message. */
typedef struct DbError
{
	int			status;
	char		sqlstate[6];
	char		message[1024];
} DbError;

bool		db_init(void);
void		db_shutdown(void);
DbConn	   *db_acquire(DbError *err);
void		db_release(DbConn *c);
void		db_discard(DbConn *c);
PGconn	   *db_pg(DbConn *c);
PGresult   *db_exec(DbConn *c, DbStmt stmt, int nparams, const char *const *values,
					const int *lengths, const int *formats, int result_format, DbError *err);
PGresult   *db_exec_as(DbConn *c, const char *tenant, DbStmt stmt, int nparams, const char *const *values,
					   const int *lengths, const int *formats, int result_format, DbError *err);
PGresult   *db_exec_maintenance(DbConn *c, DbStmt stmt, int nparams, const char *const *values, DbError *err);
void		db_begin(DbConn *c);
PGresult   *db_next_result(DbConn *c);
bool		db_stalled(DbConn *c, DbError *err);
bool		db_prepared(DbConn *c, DbStmt stmt);
bool		db_tenant_unsupported(DbConn *c, const char *tenant, DbError *err);
void		db_error_from_result(DbConn *c, const PGresult *res, DbError *err);
const char *db_stmt_name(DbStmt s);

#endif
