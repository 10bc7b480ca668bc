/*-------------------------------------------------------------------------
 *
 * collector.h
 *	  profefe-collector: profefe's HTTP API (v0) over the SQL API of the
 *	  profefe extension. A libpq client; all state is in PostgreSQL.
 *
 * src/collector/collector.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_H
#define PROFEFE_COLLECTOR_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define COLLECTOR_VERSION "0.2.0"

/* ---- settings (main.c) ---- */
typedef struct Settings
{
	const char *addr;			/* -addr, "host:port" or ":port" */
	const char *db;				/* -db, libpq connection string ("" = PG* env) */
	int			log_level;		/* LOG_DEBUG .. LOG_ERROR */
	size_t		max_body;		/* -max-body bytes */
	int			pool_size;		/* -db.pool connections */
	int			timeout_ms;		/* -timeout: per request (DB statement, client idle) */
	int			retention_s;	/* -retention-interval seconds, 0 = off */
	int			max_conns;		/* -max-connections */
	int			writers;		/* -db.writers: concurrent save batches */
	int			scrape_workers; /* -scrape.workers, 0 = no scraping */
	int			scrape_poll_ms; /* -scrape.poll */
	const char *scrape_file;	/* -scrape.file, or NULL */
} Settings;

extern Settings settings;

/* ---- logging and small utilities (util.c) ---- */
enum
{
	LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR
};
void		log_msg(int level, const char *fmt,...) __attribute__((format(printf, 2, 3)));
int			log_level_from_name(const char *name);

typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;			/* an allocation failed; contents are unusable */
} Buf;

void		buf_append(Buf *b, const void *p, size_t n);
void		buf_puts(Buf *b, const char *s);
void		buf_printf(Buf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
void		buf_json_string(Buf *b, const char *s, size_t n);
void		buf_free(Buf *b);
bool		utf8_valid(const char *s, size_t n);
int64_t		now_us(void);
void		format_utc_seconds(int64_t unix_secs, char out[32]);

/* ---- request parameters (params.c) ---- */
#define MAX_PARAMS 64

typedef struct Param
{
	char	   *key;
	char	   *value;			/* unescaped, NUL-terminated, no embedded NUL */
} Param;

typedef struct Query
{
	int			n;
	Param		p[MAX_PARAMS];
} Query;

#define MAX_LABELS 256

typedef struct Label
{
	char	   *key;
	char	   *value;
	int			seq;			/* position in the request */
} Label;

typedef struct Labels
{
	int			n;
	Label	   *l;				/* sorted by key, keys unique (the last wins) */
} Labels;

bool		query_parse(const char *raw, Query *q, char *err, size_t errlen);
const char *query_get(const Query *q, const char *key);
void		query_free(Query *q);
bool		url_unescape(const char *in, size_t n, bool plus_is_space, char **out);
bool		labels_parse(const char *s, Labels *out, char *err, size_t errlen);
void		labels_free(Labels *l);
void		labels_json_object(const Labels *l, Buf *b);
void		labels_json_array(const Labels *l, Buf *b);
bool		time_parse(const char *s, char out[64], char *err, size_t errlen);
bool		profile_type_known(const char *t);
bool		profile_id_valid(const char *s, size_t n);
int64_t		profile_id_seconds(const char *id);

/* ---- PostgreSQL connections (db.c) ---- */
typedef struct DbConn DbConn;

typedef enum DbStmt
{
	STMT_SAVE, STMT_FIND, STMT_MERGE, STMT_GET, STMT_MERGE_IDS, STMT_SERVICES,
	STMT_HEALTH, STMT_RETENTION, STMT_CLAIM_TARGETS, STMT_RECORD_SCRAPE, STMT_UPSERT_TARGET,
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
void		db_error_from_result(DbConn *c, const PGresult *res, DbError *err);
const char *db_stmt_name(DbStmt s);

/* ---- saving profiles, batched into shared transactions (saver.c) ---- */
typedef struct SaveItem
{
	/* in */
	const char *service;
	const char *type;
	const char *labels_json;
	const char *created_at;		/* NULL or normalized time */
	const char *instance_id;	/* NULL or the id */
	const char *data;
	size_t		len;
	/* out */
	int			status;			/* 200, or an HTTP error status */
	char		id[32];
	DbError		err;
	/* queue bookkeeping */
	bool		done;
	pthread_cond_t *wake;		/* the submitter's, to wake it */
	struct SaveItem *next;
} SaveItem;

void		saver_init(int max_batches);
void		saver_submit(SaveItem *item);

/* ---- metrics (metrics.c) ---- */
typedef enum Route
{
	ROUTE_PROFILES_POST, ROUTE_PROFILES_FIND, ROUTE_MERGE, ROUTE_BY_ID,
	ROUTE_SERVICES, ROUTE_VERSION, ROUTE_OLD_POST, ROUTE_OLD_GET,
	ROUTE_METRICS, ROUTE_HEALTHZ, ROUTE_OTHER, ROUTE_COUNT
} Route;

void		metrics_request(Route r, int status, double seconds);
void		metrics_ingested(const char *type, size_t bytes);
void		metrics_db(double seconds, bool failed);
void		metrics_batch(int items);
void		metrics_render(Buf *b);
void		metrics_scrape_start(double late_seconds);
void		metrics_scrape_done(long long target_id, const char *service, const char *instance, bool ok,
								double seconds);

/* ---- scraping net/http/pprof targets (scraper.c) ---- */
bool		scrape_file_load(const char *path, char *err, size_t errlen);
bool		scraper_start(void);
void		scraper_stop(void);

/* ---- HTTP (server.c, routes.c) ---- */
typedef struct Reply
{
	int			status;
	const char *content_type;
	Buf			body;
	char		disposition[128];	/* Content-Disposition, or "" */
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

bool		server_start(void);
void		server_quiesce(void);
int			server_inflight(void);
void		server_stop(void);

#endif							/* PROFEFE_COLLECTOR_H */
