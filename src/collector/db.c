/*-------------------------------------------------------------------------
 *
 * db.c
 *	  A fixed pool of libpq connections, each with the collector's
 *	  statements prepared. Connections are made lazily and remade after a
 *	  failure, so the collector starts and keeps running while PostgreSQL
 *	  is down (requests get 503 meanwhile). PostgreSQL errors become HTTP
 *	  statuses by SQLSTATE class.
 *
 * src/collector/db.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "metrics.h"
#include "settings.h"
#include "util.h"

struct DbConn
{
	PGconn	   *conn;
	bool		prepared[STMT_COUNT];
	int64_t		deadline_us;	/* when the statements in flight are given up on */
	int			timeout_ms;		/* its statement_timeout now, 0 = settings.timeout_ms */
	bool		stalled;		/* they were: the connection is dropped */
	unsigned	stall_gen;		/* stall_gen when connected */
};

/*
 * How long past the server's own statement_timeout the collector waits for
 * an answer before it gives up on the connection: a database that accepts
 * but never answers (stopped, swapping to death, a network that drops
 * packets without a reset) must not hold a request, nor a pool slot,
 * forever. statement_timeout cannot fire in a server that does not run.
 */
#define STALL_GRACE_MS 2000

/*
 * Optional statements (scraping) may fail to prepare without making the
 * connection unusable: the HTTP API keeps working, scraping reports why.
 */
/*
 * The sample type a view shows ($6, else the profile's default, else the
 * last one, as pprof picks it) with its unit.
 */
#define SAMPLE_TYPE_OF(p) \
	"SELECT s.type, s.unit FROM profefe.pprof_sample_types(" p ") WITH ORDINALITY s(type, unit, n)" \
	" ORDER BY s.type = coalesce($6, profefe.pprof_default_sample_type(" p ")) DESC, s.n DESC LIMIT 1"

/* pprof_top of p ($6 the sample type) as JSON objects, at most n */
#define TOP_ROWS(p, n) \
	"(SELECT coalesce(json_agg(json_build_object('func', x.func, 'flat', x.flat, 'flat_pct', x.flat_pct," \
	"                 'sum_pct', x.sum_pct, 'cum', x.cum, 'cum_pct', x.cum_pct) ORDER BY x.n), '[]')" \
	"   FROM profefe.pprof_top(" p ", $6, " n ") WITH ORDINALITY x(func, flat, flat_pct, sum_pct, cum, cum_pct, n))"

/* both sides' pprof_top rows by function, the largest change of flat share first, at most n */
#define TOP_DIFF_ROWS(p, b, n) \
	"(SELECT coalesce(json_agg(json_build_object('func', j.func, 'flat', j.flat, 'flat_pct', j.flat_pct," \
	"                 'cum', j.cum, 'cum_pct', j.cum_pct, 'base_flat', j.base_flat, 'base_flat_pct', j.base_flat_pct," \
	"                 'base_cum', j.base_cum, 'base_cum_pct', j.base_cum_pct) ORDER BY j.k), '[]')" \
	"   FROM (SELECT coalesce(a.func, c.func) AS func, coalesce(a.flat, 0) AS flat, coalesce(a.flat_pct, 0) AS flat_pct," \
	"                coalesce(a.cum, 0) AS cum, coalesce(a.cum_pct, 0) AS cum_pct, coalesce(c.flat, 0) AS base_flat," \
	"                coalesce(c.flat_pct, 0) AS base_flat_pct, coalesce(c.cum, 0) AS base_cum," \
	"                coalesce(c.cum_pct, 0) AS base_cum_pct," \
	"                row_number() OVER (ORDER BY abs(coalesce(a.flat_pct, 0) - coalesce(c.flat_pct, 0)) DESC," \
	"                                            abs(coalesce(a.cum_pct, 0) - coalesce(c.cum_pct, 0)) DESC," \
	"                                            coalesce(a.func, c.func)) AS k" \
	"           FROM profefe.pprof_top(" p ", $6) a FULL JOIN profefe.pprof_top(" b ", $6) c ON a.func = c.func) j" \
	"  WHERE " n " IS NULL OR j.k <= " n ")"

static const struct
{
	const char *name;
	const char *sql;
	bool		optional;
}			stmts[STMT_COUNT] = {
	[STMT_SAVE] = {"save",
	"SELECT profefe.save_profile($1, $2, $3, $4::jsonb, $5::timestamptz, $6)"},
	[STMT_FIND] = {"find",
		"SELECT coalesce(json_agg(json_strip_nulls(json_build_object("
		"  'id', f.profile_id, 'type', f.type, 'service', f.service,"
		"  'instance_id', nullif(f.instance_id, ''),"
		"  'labels', (SELECT json_agg(json_build_object('key', l.key, 'value', l.value) ORDER BY l.key)"
		"               FROM jsonb_each_text(f.labels) l),"
		"  'created_at', to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')))"
		"  ORDER BY f.created_at, f.profile_id), '[]')::text, count(*)"
		"  FROM profefe.find_profiles($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb, $6::int) f"},
	[STMT_MERGE] = {"merge",
	"SELECT profefe.merge_profiles($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb)::bytea"},
	[STMT_GET] = {"get", "SELECT type, data FROM profefe.profile_data($1)"},
	[STMT_MERGE_IDS] = {"merge_ids", "SELECT profefe.merge_profiles($1::text[])::bytea"},
	[STMT_SERVICES] = {"services",
	"SELECT coalesce(json_agg(s ORDER BY s), '[]')::text FROM profefe.services() s"},
	[STMT_HEALTH] = {"health", "SELECT 1"},
	[STMT_RETENTION] = {"retention", "SELECT profefe.enforce_retention()"},
	[STMT_CLAIM_TARGETS] = {"claim_targets",
		"SELECT c.target_id, c.service, c.url, c.labels::text, array_to_string(c.types, ','), c.cpu_seconds,"
		"       c.delta, c.timeout_ms, extract(epoch from clock_timestamp() - c.scheduled_at),"
		"       coalesce(c.labels->>'instance', ''), c.tenant, c.ca_file, c.auth_kind, c.auth_username, c.auth_secret"
	"  FROM profefe.claim_scrape_targets($1, $2::int) c", true},
	[STMT_RECORD_SCRAPE] = {"record_scrape",
	"SELECT profefe.record_scrape($1::bigint, $2::timestamptz, $3::interval, $4, $5::int)", true},
	[STMT_UPSERT_TARGET] = {"upsert_target",
		"SELECT profefe.upsert_scrape_target($1, $2, $3::jsonb, string_to_array($4, ','), $5::interval,"
	"       $6::int, $7::boolean, $8::interval)", true},
	[STMT_VERSIONS] = {"versions",
		"SELECT current_setting('server_version'),"
	"       (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'profefe')"},
	/* rollups and series came with 0.3.0: optional, so that 0.2.0 still serves the rest */
	[STMT_REFRESH] = {"refresh", "SELECT profefe.refresh_rollups($1::int)", true},
	/* packs came with 0.9.0 */
	[STMT_PACK] = {"pack", "SELECT profefe.pack_profiles($1::int)", true},
	[STMT_SERIES] = {"series",
		"SELECT coalesce(json_agg(json_strip_nulls(json_build_object("
		"  'bucket', rtrim(rtrim(to_char(s.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '0'), '.') || 'Z',"
		"  'group', s.grp, 'profiles', s.profiles, 'value', s.value))"
		"  ORDER BY s.bucket, s.grp), '[]')::text"
		"  FROM profefe.profile_series($1, $2, $3::timestamptz, $4::timestamptz, $5::interval, $6::jsonb,"
		"                              $7, $8, $9) s", true},
	/* the JSON views (flame graph rows, top, labels, types) came with 0.4.0 */
	[STMT_FLAME] = {"flame",
		"WITH m AS MATERIALIZED (SELECT profefe.merge_profiles($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb) AS p)"
		" SELECT m.p IS NULL, false, CASE WHEN m.p IS NOT NULL THEN json_build_object("
		"   'sample_type', t.type, 'unit', t.unit, 'sample_types', st.list, 'total', r.total, 'rows', r.rows,"
		"   'top', CASE WHEN $8::int IS NOT NULL THEN " TOP_ROWS("m.p", "$8::int") " END)::text END"
		"   FROM m"
		"   LEFT JOIN LATERAL (SELECT json_agg(json_build_object('type', s.type, 'unit', s.unit)) AS list"
		"                        FROM profefe.pprof_sample_types(m.p) s) st ON true"
		"   LEFT JOIN LATERAL (" SAMPLE_TYPE_OF("m.p") ") t ON true"
		"   LEFT JOIN LATERAL (SELECT max(f.value) FILTER (WHERE f.ord = 0) AS total,"
		"                             coalesce(json_agg(json_build_object('level', f.level, 'label', f.label,"
		"                                 'self', f.self, 'value', f.value) ORDER BY f.ord), '[]') AS rows"
		"                        FROM profefe.pprof_flamegraph_rows(m.p, $6, $7::int) f) r ON true", true},
	[STMT_FLAME_DIFF] = {"flame_diff",
		"WITH m AS MATERIALIZED (SELECT profefe.merge_profiles($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb) AS p,"
		"                               profefe.merge_profiles($1, $2, $8::timestamptz, $9::timestamptz, $10::jsonb) AS b)"
		" SELECT m.p IS NULL, m.b IS NULL, CASE WHEN m.p IS NOT NULL AND m.b IS NOT NULL THEN json_build_object("
		"   'sample_type', t.type, 'unit', t.unit, 'sample_types', st.list, 'total', r.total, 'totalRight', r.total_right,"
		"   'rows', r.rows, 'top', CASE WHEN $11::int IS NOT NULL THEN " TOP_DIFF_ROWS("m.p", "m.b", "$11::int") " END)::text END"
		"   FROM m"
		"   LEFT JOIN LATERAL (SELECT json_agg(json_build_object('type', s.type, 'unit', s.unit)) AS list"
		"                        FROM profefe.pprof_sample_types(m.p) s) st ON true"
		"   LEFT JOIN LATERAL (" SAMPLE_TYPE_OF("m.p") ") t ON true"
		"   LEFT JOIN LATERAL (SELECT max(f.value) FILTER (WHERE f.ord = 0) AS total,"
		"                             max(f.value_right) FILTER (WHERE f.ord = 0) AS total_right,"
		"                             coalesce(json_agg(json_build_object('level', f.level, 'label', f.label,"
		"                                 'self', f.self, 'value', f.value, 'selfRight', f.self_right,"
		"                                 'valueRight', f.value_right) ORDER BY f.ord), '[]') AS rows"
		"                        FROM profefe.pprof_flamegraph_rows(m.p, m.b, $6, $7::int) f) r ON true", true},
	[STMT_TOP] = {"top",
		"WITH m AS MATERIALIZED (SELECT profefe.merge_profiles($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb) AS p)"
		" SELECT m.p IS NULL, false, CASE WHEN m.p IS NOT NULL THEN json_build_object("
		"   'sample_type', t.type, 'unit', t.unit, 'total', profefe.pprof_total(m.p, $6),"
		"   'rows', " TOP_ROWS("m.p", "$7::int") ")::text END"
		"   FROM m"
		"   LEFT JOIN LATERAL (" SAMPLE_TYPE_OF("m.p") ") t ON true", true},
	[STMT_TOP_DIFF] = {"top_diff",
		"WITH m AS MATERIALIZED (SELECT profefe.merge_profiles($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb) AS p,"
		"                               profefe.merge_profiles($1, $2, $8::timestamptz, $9::timestamptz, $10::jsonb) AS b)"
		" SELECT m.p IS NULL, m.b IS NULL, CASE WHEN m.p IS NOT NULL AND m.b IS NOT NULL THEN json_build_object("
		"   'sample_type', t.type, 'unit', t.unit, 'total', profefe.pprof_total(m.p, $6),"
		"   'base_total', profefe.pprof_total(m.b, $6),"
		"   'rows', " TOP_DIFF_ROWS("m.p", "m.b", "$7::int") ")::text END"
		"   FROM m"
		"   LEFT JOIN LATERAL (" SAMPLE_TYPE_OF("m.p") ") t ON true", true},
	[STMT_LABEL_KEYS] = {"label_keys",
		"SELECT coalesce(json_agg(k ORDER BY k), '[]')::text"
		"  FROM (SELECT DISTINCT l.key AS k"
		"          FROM profefe.profile_labels($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb) l) x", true},
	[STMT_LABEL_VALUES] = {"label_values",
		"SELECT coalesce(json_agg(l.value ORDER BY l.value), '[]')::text"
		"  FROM profefe.profile_labels($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb, $6) l", true},
	[STMT_TYPES] = {"types",
		"SELECT coalesce(json_agg(t), '[]')::text"
		"  FROM profefe.service_types($1, coalesce($2::timestamptz, '-infinity'), coalesce($3::timestamptz, 'infinity')) t", true},
	/* tenants and tokens came with 0.5.0 */
	[STMT_TENANT] = {"tenant", "SELECT profefe.act_for_tenant($1)", true},
	/* a merge as Go's profile-guided optimization reads it (0.6.0) */
	[STMT_MERGE_PGO] = {"merge_pgo",
		"SELECT profefe.pprof_pgo(profefe.merge_profiles($1, $2, $3::timestamptz, $4::timestamptz, $5::jsonb))::bytea",
	true},
	/* other agents' profiles (0.6.0): the type from the sample types, or collapsed stacks */
	[STMT_SAVE_GUESS] = {"save_guess",
		"SELECT profefe.save_profile($1, g.t, $3::bytea, $4::jsonb, $5::timestamptz, $6), g.t"
	"  FROM (SELECT coalesce($2::text, profefe.pprof_guess_type($3::bytea::profefe.pprof, $7::text)) AS t) g", true},
	[STMT_SAVE_FOLDED] = {"save_folded",
		"SELECT profefe.save_profile($1, $2, profefe.pprof_from_folded(convert_from($3::bytea, 'UTF8'), $7::text, $8::text,"
	"       $9::bigint, $10::text, $11::text, $12::bigint, $13::timestamptz, $14::interval, $15::boolean)::bytea,"
	"       $4::jsonb, $5::timestamptz, $6)",
	true},
	/* a whole batch in one statement (0.7.0): $3 is a binary bytea[], the rest text arrays */
	[STMT_SAVE_MANY] = {"save_many",
		"SELECT profefe.save_profiles($1::text[], $2::text[], $3::bytea[], $4::jsonb[], $5::timestamptz[], $6::text[])",
	true},
	[STMT_SAVE_ONCE] = {"save_once",
		"SELECT s.profile_id, s.replayed"
	"  FROM profefe.save_profile_once($7, $1, $2, $3, $4::jsonb, $5::timestamptz, $6) s", true},
	[STMT_VERIFY_TOKEN] = {"verify_token",
		"SELECT v.token_id, v.tenant, array_to_string(v.rights, ','), coalesce(extract(epoch FROM v.expires_at), 0),"
		"       coalesce(v.max_body, 0), coalesce(v.ingest_rate, 0), coalesce(v.ingest_burst, 0)"
	"  FROM profefe.verify_api_token($1) v", true},
};

static DbConn *pool;
static char optional_error[STMT_COUNT][512];	/* under optional_lock: connections are made by any thread */
static pthread_mutex_t optional_lock = PTHREAD_MUTEX_INITIALIZER;
static int *free_stack;
static int nfree;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;

/* The last failed connection attempt: new attempts wait a little. */
static int64_t last_fail_us;
static char last_fail_msg[sizeof(((DbError *) 0)->message)];
#define RECONNECT_PAUSE_US 250000

/*
 * Counts the connections given up on (db_stalled): a pooled connection
 * made before the latest one is as likely to hang, so it is remade
 * rather than tried.
 */
static unsigned stall_gen;

const char *
db_stmt_name(DbStmt s)
{
	return stmts[s].name;
}

PGconn *
db_pg(DbConn *c)
{
	return c->conn;
}

static void
set_error(DbError *err, int status, const char *sqlstate, const char *fmt,...)
	__attribute__((format(printf, 4, 5)));

static void
set_error(DbError *err, int status, const char *sqlstate, const char *fmt,...)
{
	va_list		ap;

	err->status = status;
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate ? sqlstate : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* The first line of libpq's message, without the "FATAL:  " decoration. */
static void
first_line(const char *msg, char *out, size_t outlen)
{
	const char *p = msg ? msg : "unknown error";
	size_t		n;

	if (strncmp(p, "FATAL:  ", 8) == 0)
		p += 8;
	else if (strncmp(p, "ERROR:  ", 8) == 0)
		p += 8;
	n = strcspn(p, "\n");
	snprintf(out, outlen, "%.*s", (int) n, p);
}

bool
db_init(void)
{
	pool = calloc(settings.pool_size, sizeof(DbConn));
	free_stack = calloc(settings.pool_size, sizeof(int));
	if (!pool || !free_stack)
		return false;
	for (int i = 0; i < settings.pool_size; i++)
		free_stack[nfree++] = i;
	return true;
}

void
db_shutdown(void)
{
	pthread_mutex_lock(&pool_lock);
	for (int i = 0; i < settings.pool_size; i++)
		if (pool[i].conn)
		{
			PQfinish(pool[i].conn);
			pool[i].conn = NULL;
		}
	pthread_mutex_unlock(&pool_lock);
}

static bool
exec_simple(PGconn *conn, const char *sql, char *msg, size_t msglen)
{
	PGresult   *res = PQexec(conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		first_line(PQresultErrorMessage(res), msg, msglen);
	PQclear(res);
	return ok;
}

static bool
version_at_least(const char *v, int major, int minor)
{
	int			a = 0,
				b = 0;

	if (sscanf(v, "%d.%d", &a, &b) < 1)
		return false;
	return a > major || (a == major && b >= minor);
}

/* Connects and prepares; on failure fills err and returns NULL. */
static PGconn *
connect_one(DbConn *dc, DbError *err)
{
	/* keywords given before dbname are defaults the connection string overrides */
	const char *keys[] = {"connect_timeout", "fallback_application_name", "keepalives_idle",
	"keepalives_interval", "keepalives_count", "dbname", NULL};
	char		connect_s[16];
	const char *vals[] = {connect_s, "profefe-collector", "30", "10", "3", settings.db, NULL};
	PGconn	   *conn;
	PGresult   *res;
	char		msg[512];
	char		sql[160];

	/* a server that accepts but never answers costs at most the request timeout (libpq: 2 s at least) */
	snprintf(connect_s, sizeof(connect_s), "%d",
			 settings.timeout_ms < 2000 ? 2 : settings.timeout_ms > 10000 ? 10 : (settings.timeout_ms + 999) / 1000);
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		first_line(conn ? PQerrorMessage(conn) : "out of memory", msg, sizeof(msg));
		set_error(err, 503, "08006", "database unavailable: %s", msg);
		PQfinish(conn);
		return NULL;
	}
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; SET idle_in_transaction_session_timeout = %d",
			 settings.timeout_ms, settings.timeout_ms);
	if (!exec_simple(conn, sql, msg, sizeof(msg)))
		goto fail;

	/* the extension must be there, and new enough for every statement */
	res = PQexec(conn, "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'profefe'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		first_line(PQresultErrorMessage(res), msg, sizeof(msg));
		PQclear(res);
		goto fail;
	}
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		snprintf(msg, sizeof(msg), "the profefe extension is not installed in database \"%s\" "
				 "(CREATE EXTENSION profefe)", PQdb(conn));
		goto fail;
	}
	if (!version_at_least(PQgetvalue(res, 0, 0), 0, 2))
	{
		snprintf(msg, sizeof(msg), "profefe extension %s is older than 0.2.0 "
				 "(ALTER EXTENSION profefe UPDATE)", PQgetvalue(res, 0, 0));
		PQclear(res);
		goto fail;
	}
	PQclear(res);

	for (int i = 0; i < STMT_COUNT; i++)
	{
		res = PQprepare(conn, stmts[i].name, stmts[i].sql, 0, NULL);
		dc->prepared[i] = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!dc->prepared[i])
		{
			first_line(PQresultErrorMessage(res), msg, sizeof(msg));
			PQclear(res);
			if (!stmts[i].optional)
				goto fail;
			pthread_mutex_lock(&optional_lock);
			snprintf(optional_error[i], sizeof(optional_error[i]), "%s", msg);
			pthread_mutex_unlock(&optional_lock);
			continue;
		}
		PQclear(res);
	}
	/* sends never block either: db_next_result flushes within the deadline */
	if (PQsetnonblocking(conn, 1) != 0)
	{
		first_line(PQerrorMessage(conn), msg, sizeof(msg));
		goto fail;
	}
	return conn;

fail:
	set_error(err, 503, "55000", "database not ready: %s", msg);
	PQfinish(conn);
	return NULL;
}

/*
 * A connection from the pool, connected and prepared; NULL with err set
 * (503) when all are busy past the request timeout or the database cannot
 * be reached.
 */
DbConn *
db_acquire(DbError *err)
{
	struct timespec deadline;
	DbConn	   *c;
	int64_t		t;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += settings.timeout_ms / 1000;
	deadline.tv_nsec += (long) (settings.timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pool_lock);
	while (nfree == 0)
	{
		if (pthread_cond_timedwait(&pool_cond, &pool_lock, &deadline) == ETIMEDOUT && nfree == 0)
		{
			pthread_mutex_unlock(&pool_lock);
			set_error(err, 503, "53300", "database busy: all %d connections in use", settings.pool_size);
			return NULL;
		}
	}
	c = &pool[free_stack[--nfree]];
	pthread_mutex_unlock(&pool_lock);

	if (c->conn && PQstatus(c->conn) == CONNECTION_OK &&
		c->stall_gen == __atomic_load_n(&stall_gen, __ATOMIC_RELAXED))
		return c;
	if (c->conn)
	{
		PQfinish(c->conn);
		c->conn = NULL;
	}

	/* while the database is down, fail fast instead of queueing connects */
	pthread_mutex_lock(&pool_lock);
	t = now_us();
	if (last_fail_us && t - last_fail_us < RECONNECT_PAUSE_US)
	{
		set_error(err, 503, "08006", "%s", last_fail_msg);
		pthread_mutex_unlock(&pool_lock);
		db_release(c);
		return NULL;
	}
	pthread_mutex_unlock(&pool_lock);

	c->stall_gen = __atomic_load_n(&stall_gen, __ATOMIC_RELAXED);
	c->conn = connect_one(c, err);
	pthread_mutex_lock(&pool_lock);
	if (c->conn == NULL)
	{
		if (last_fail_us == 0)
			log_msg(LOG_WARN, "%s", err->message);
		last_fail_us = now_us();
		snprintf(last_fail_msg, sizeof(last_fail_msg), "%s", err->message);
	}
	else if (last_fail_us != 0)
	{
		log_msg(LOG_INFO, "database connection restored");
		last_fail_us = 0;
	}
	pthread_mutex_unlock(&pool_lock);
	if (c->conn == NULL)
	{
		db_release(c);
		return NULL;
	}
	return c;
}

/* Starts the clock for the statements about to be sent on c. */
void
db_begin(DbConn *c)
{
	int			ms = c->timeout_ms ? c->timeout_ms : settings.timeout_ms;

	c->deadline_us = now_us() + ((int64_t) ms + STALL_GRACE_MS) * 1000;
	c->stalled = false;
}

/*
 * Waits, within c's deadline, until the next result can be read without
 * blocking, sending what is still queued meanwhile (the socket is
 * non-blocking). False when the deadline passed first (c->stalled).
 */
static bool
wait_ready(DbConn *c)
{
	PGconn	   *conn = c->conn;

	for (;;)
	{
		int			unsent = PQflush(conn);
		struct pollfd pfd;
		int64_t		left_ms;
		int			n;

		/* a broken connection: PQgetResult reports it, without waiting */
		if (unsent < 0)
			return true;
		if (unsent == 0 && !PQisBusy(conn))
			return true;
		left_ms = (c->deadline_us - now_us()) / 1000;
		if (left_ms <= 0)
		{
			c->stalled = true;
			return false;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN | (unsent ? POLLOUT : 0);
		pfd.revents = 0;
		if (pfd.fd < 0)
			return true;
		n = poll(&pfd, 1, (int) (left_ms < 1000 ? left_ms + 1 : 1000));
		if (n < 0 && errno != EINTR)
			return true;
		if (n > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(conn))
			return true;
	}
}

/*
 * PQgetResult within c's deadline (db_begin): NULL at the end of a
 * statement's results, or when the database did not answer in time
 * (db_stalled then says so).
 */
PGresult *
db_next_result(DbConn *c)
{
	if (!wait_ready(c))
		return NULL;
	return PQgetResult(c->conn);
}

/*
 * After db_next_result gave up: fills err (503) and drops the connection,
 * whose state nobody knows (a save may or may not commit: a retry with an
 * Idempotency-Key is safe either way).
 */
bool
db_stalled(DbConn *c, DbError *err)
{
	int			ms = c->timeout_ms ? c->timeout_ms : settings.timeout_ms;

	if (!c->stalled)
		return false;
	set_error(err, 503, "57014", "database did not answer within %d ms (statement timeout %d ms); "
			  "connection dropped", ms + STALL_GRACE_MS, ms);
	metrics_db_stall();
	db_discard(c);
	/* the others fail fast for a moment, then reconnect instead of waiting on old connections */
	__atomic_add_fetch(&stall_gen, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&pool_lock);
	if (last_fail_us == 0)
		log_msg(LOG_WARN, "%s", err->message);
	last_fail_us = now_us();
	snprintf(last_fail_msg, sizeof(last_fail_msg), "%s", err->message);
	pthread_mutex_unlock(&pool_lock);
	return true;
}

/* Closes a connection whose state is unknown; the pool reconnects later. */
void
db_discard(DbConn *c)
{
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
}

void
db_release(DbConn *c)
{
	if (c->conn && PQstatus(c->conn) != CONNECTION_OK)
	{
		PQfinish(c->conn);
		c->conn = NULL;
	}
	else if (c->conn && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
	{
		/* never hand on a connection in the middle of something */
		PQfinish(c->conn);
		c->conn = NULL;
	}
	pthread_mutex_lock(&pool_lock);
	free_stack[nfree++] = (int) (c - pool);
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
}

/*
 * The HTTP status for a failed statement: bad input (class 22) is the
 * client's fault, too large (54) is 413, no data (P0002) 404, not
 * supported (0A) 405; the database being away, overloaded, restarting or
 * timing out is 503; everything else a real fault (500).
 */
void
db_error_from_result(DbConn *c, const PGresult *res, DbError *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char		msg[512];
	int			status;

	if (c && PQstatus(c->conn) != CONNECTION_OK)
	{
		first_line(PQerrorMessage(c->conn), msg, sizeof(msg));
		set_error(err, 503, "08006", "database unavailable: %s", msg);
		return;
	}
	if (state == NULL || primary == NULL)
	{
		first_line(res ? PQresultErrorMessage(res) : (c ? PQerrorMessage(c->conn) : NULL), msg, sizeof(msg));
		set_error(err, 500, "XX000", "%s", msg);
		return;
	}
	if (strncmp(state, "22", 2) == 0)
		status = 400;
	else if (strcmp(state, "54000") == 0)
		status = 413;
	else if (strcmp(state, "P0002") == 0)
		status = 404;
	else if (strncmp(state, "0A", 2) == 0)
		status = 405;
	else if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
			 strncmp(state, "57", 2) == 0 || strcmp(state, "40001") == 0 ||
			 strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
		status = 503;
	else
		status = 500;
	if (detail && *detail)
		set_error(err, status, state, "%s: %s", primary, detail);
	else
		set_error(err, status, state, "%s", primary);
}

bool
db_prepared(DbConn *c, DbStmt stmt)
{
	return c->prepared[stmt];
}

static void
too_old(DbStmt stmt, DbError *err)
{
	char		why[512];

	pthread_mutex_lock(&optional_lock);
	memcpy(why, optional_error[stmt], sizeof(why));
	pthread_mutex_unlock(&optional_lock);
	set_error(err, 503, "55000", "the profefe extension in this database is too old for this "
			  "(ALTER EXTENSION profefe UPDATE): %s", why);
}

/*
 * Whether a request for this tenant cannot run here: an extension before
 * 0.5.0 has no tenants, so only the default one (err set otherwise).
 */
bool
db_tenant_unsupported(DbConn *c, const char *tenant, DbError *err)
{
	if (c->prepared[STMT_TENANT] || strcmp(tenant, "default") == 0)
		return false;
	too_old(STMT_TENANT, err);
	return true;
}

/*
 * Runs a prepared statement for a tenant: profefe.act_for_tenant($tenant)
 * and the statement as one pipeline, so one implicit transaction and one
 * round trip. The tenant holds for that transaction only (set_config
 * local): nothing of it stays on the pooled connection. When acting for
 * the tenant fails (the role may not), the statement does not run.
 */
PGresult *
db_exec_as(DbConn *c, const char *tenant, DbStmt stmt, int nparams, const char *const *values,
		   const int *lengths, const int *formats, int result_format, DbError *err)
{
	PGconn	   *conn = c->conn;
	PGresult   *tres = NULL,
			   *res = NULL,
			   *r;
	int64_t		t0;
	bool		ok;

	if (tenant == NULL || !c->prepared[STMT_TENANT])
	{
		if (tenant && db_tenant_unsupported(c, tenant, err))
			return NULL;
		return db_exec(c, stmt, nparams, values, lengths, formats, result_format, err);
	}
	if (!c->prepared[stmt])
	{
		too_old(stmt, err);
		return NULL;
	}
	t0 = now_us();
	db_begin(c);
	if (!PQenterPipelineMode(conn) ||
		!PQsendQueryPrepared(conn, stmts[STMT_TENANT].name, 1, &tenant, NULL, NULL, 0) ||
		!PQsendQueryPrepared(conn, stmts[stmt].name, nparams, values, lengths, formats, result_format) ||
		!PQpipelineSync(conn))
	{
		db_error_from_result(c, NULL, err);
		err->status = 503;
		db_discard(c);
		return NULL;
	}
	/* each statement's results end with a NULL; then comes the Sync */
	for (int phase = 0; phase < 2;)
	{
		if ((r = db_next_result(c)) == NULL)
		{
			if (db_stalled(c, err))
			{
				PQclear(tres);
				PQclear(res);
				metrics_db((now_us() - t0) / 1e6, true);
				return NULL;
			}
			phase++;
		}
		else if (phase == 0 && tres == NULL)
			tres = r;
		else if (phase == 1 && res == NULL)
			res = r;
		else
			PQclear(r);
	}
	r = db_next_result(c);
	ok = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
	PQclear(r);
	if (!ok || !PQexitPipelineMode(conn))
	{
		if (!db_stalled(c, err))
		{
			db_error_from_result(c, NULL, err);
			err->status = 503;
		}
		PQclear(tres);
		PQclear(res);
		db_discard(c);
		metrics_db((now_us() - t0) / 1e6, true);
		return NULL;
	}
	if (PQresultStatus(tres) != PGRES_TUPLES_OK)
	{
		db_error_from_result(c, tres, err);
		PQclear(tres);
		PQclear(res);
		metrics_db((now_us() - t0) / 1e6, true);
		return NULL;
	}
	PQclear(tres);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	metrics_db((now_us() - t0) / 1e6, !ok);
	if (ok)
		return res;
	db_error_from_result(c, res, err);
	PQclear(res);
	return NULL;
}

/* Runs a prepared statement; NULL (with err) unless it returned rows. */
PGresult *
db_exec(DbConn *c, DbStmt stmt, int nparams, const char *const *values,
		const int *lengths, const int *formats, int result_format, DbError *err)
{
	int64_t		t0;
	PGresult   *res,
			   *r;
	bool		ok;

	if (!c->prepared[stmt])
	{
		too_old(stmt, err);
		return NULL;
	}
	t0 = now_us();
	db_begin(c);
	if (!PQsendQueryPrepared(c->conn, stmts[stmt].name, nparams, values, lengths, formats, result_format))
	{
		db_error_from_result(c, NULL, err);
		err->status = 503;
		db_discard(c);
		metrics_db((now_us() - t0) / 1e6, true);
		return NULL;
	}
	/* the first result is the statement's; read on to the end (as PQexec) */
	res = NULL;
	while ((r = db_next_result(c)) != NULL)
	{
		if (res == NULL)
			res = r;
		else
			PQclear(r);
	}
	if (db_stalled(c, err))
	{
		PQclear(res);
		metrics_db((now_us() - t0) / 1e6, true);
		return NULL;
	}
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	metrics_db((now_us() - t0) / 1e6, !ok);
	if (ok)
		return res;
	db_error_from_result(c, res, err);
	PQclear(res);
	return NULL;
}

/*
 * SET statement_timeout on c, within c's deadline; false with err set (the
 * connection dropped) when that fails.
 */
static bool
set_statement_timeout(DbConn *c, int ms, DbError *err)
{
	char		sql[64];
	PGresult   *res = NULL,
			   *r;
	bool		ok;

	snprintf(sql, sizeof(sql), "SET statement_timeout = %d", ms);
	db_begin(c);
	if (!PQsendQuery(c->conn, sql))
	{
		db_error_from_result(c, NULL, err);
		err->status = 503;
		db_discard(c);
		return false;
	}
	while ((r = db_next_result(c)) != NULL)
	{
		if (res == NULL)
			res = r;
		else
			PQclear(r);
	}
	if (db_stalled(c, err))
	{
		PQclear(res);
		return false;
	}
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
	{
		db_error_from_result(c, res, err);
		db_discard(c);
	}
	PQclear(res);
	return ok;
}

/*
 * A background statement (a rollup refresh, packing, retention) under
 * -maintenance-timeout rather than the request timeout: one hour of a
 * fleet's service can take longer to roll up than a request may wait, and
 * a refresh cut short rolls back and starts over, every time. Saves do not
 * wait on it (a save into a closed hour takes no lock since 0.10.0). The
 * connection goes back to the pool with the request timeout again, or is
 * dropped.
 */
PGresult *
db_exec_maintenance(DbConn *c, DbStmt stmt, int nparams, const char *const *values, DbError *err)
{
	int			ms = settings.maintenance_timeout_ms > settings.timeout_ms ?
		settings.maintenance_timeout_ms : settings.timeout_ms;
	PGresult   *res;
	DbError		reset_err;

	if (ms == settings.timeout_ms || !c->prepared[stmt])
		return db_exec(c, stmt, nparams, values, NULL, NULL, 0, err);
	if (!set_statement_timeout(c, ms, err))
		return NULL;
	c->timeout_ms = ms;
	res = db_exec(c, stmt, nparams, values, NULL, NULL, 0, err);
	c->timeout_ms = 0;
	if (c->conn != NULL && !set_statement_timeout(c, settings.timeout_ms, &reset_err))
		log_msg(LOG_WARN, "connection dropped after %s: %s", stmts[stmt].name, reset_err.message);
	return res;
}
