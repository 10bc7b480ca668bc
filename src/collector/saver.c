/*-------------------------------------------------------------------------
 *
 * saver.c
 *	  Saving profiles with group commit. A POST's profile joins a queue;
 *	  whichever request thread finds a free batch slot takes everything
 *	  queued (up to a size cap) and sends it as one libpq pipeline: one
 *	  save_profile call per profile, then one Sync, so all of them commit in
 *	  one transaction and one WAL flush. Each waiter gets its reply only
 *	  after that commit: a 200 is durable. With a single client a batch is
 *	  just its own request; no request ever waits for a timer.
 *
 *	  If one profile in a batch fails (a malformed profile, say), the
 *	  pipeline's implicit transaction is rolled back; that profile gets its
 *	  error and the others are sent again without it.
 *
 * src/collector/saver.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "metrics.h"
#include "saver.h"
#include "settings.h"
#include "util.h"

#define BATCH_MAX_ITEMS 128
#define BATCH_MAX_BYTES (16 * 1024 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static SaveItem *head,
		   *tail;
static int	active_batches;
static int	max_active;

void
saver_init(int max_batches)
{
	max_active = max_batches < 1 ? 1 : max_batches;
}

static void
fail_all(SaveItem **items, int n, const DbError *err)
{
	for (int i = 0; i < n; i++)
	{
		items[i]->status = err->status;
		items[i]->err = *err;
	}
}

#define RETRY_ALL (-2)

/* The statement that saves it: as received, once per key, typed by its samples, or from collapsed stacks. */
static DbStmt
item_stmt(const SaveItem *it)
{
	if (it->folded)
		return STMT_SAVE_FOLDED;
	if (it->type == NULL)
		return STMT_SAVE_GUESS;
	return it->key ? STMT_SAVE_ONCE : STMT_SAVE;
}

/*
 * The connection broke or stalled mid-batch: every item fails with 503
 * (or the stall's error) and the connection, in an unknown state, is dropped.
 */
static void
fail_broken(DbConn *dc, SaveItem **items, int n, int64_t t0)
{
	DbError		err;

	if (!db_stalled(dc, &err))
	{
		db_error_from_result(dc, NULL, &err);
		if (err.status != 503)
			err.status = 503;
	}
	metrics_db((now_us() - t0) / 1e6, true);
	log_msg(LOG_WARN, "saving %d profile(s): %s", n, err.message);
	fail_all(items, n, &err);
	db_discard(dc);
}

/*
 * Sends items as one pipeline on one connection. Returns the index of the
 * item that failed on its own (its status set), RETRY_ALL after a
 * serialization failure or deadlock (nothing was saved; worth another go),
 * or -1 when all were saved or all failed together (their statuses set).
 */
static int
run_pipeline(DbConn *dc, SaveItem **items, int n)
{
	PGconn	   *conn = db_pg(dc);
	int			failed_at = -1;
	DbError		err;
	PGresult   *res;
	int64_t		t0 = now_us();

	/* an extension without tenants (before 0.5.0) takes the default one only */
	for (int i = 0; i < n; i++)
		if (items[i]->tenant && db_tenant_unsupported(dc, items[i]->tenant, &err))
		{
			fail_all(items, n, &err);
			return -1;
		}
	/* idempotency keys came with 0.5.0 too, other agents' profiles with 0.6.0 */
	for (int i = 0; i < n; i++)
		if (!db_prepared(dc, item_stmt(items[i])))
		{
			snprintf(err.message, sizeof(err.message), "the profefe extension in this database is too old for %s "
					 "(ALTER EXTENSION profefe UPDATE)", items[i]->key ? "idempotency keys" : "this format");
			err.status = 503;
			snprintf(err.sqlstate, sizeof(err.sqlstate), "55000");
			fail_all(items, n, &err);
			return -1;
		}
	db_begin(dc);
	if (!PQenterPipelineMode(conn))
		goto broken;
	for (int i = 0; i < n; i++)
	{
		SaveItem   *it = items[i];
		DbStmt		stmt = item_stmt(it);
		const char *values[15] = {it->service, it->type, it->data, it->labels_json, it->created_at,
		it->instance_id, it->key};
		int			lengths[15] = {0, 0, (int) it->len};
		int			formats[15] = {0, 0, 1};
		int			nparams = it->key ? 7 : 6;

		if (stmt == STMT_SAVE_GUESS)
		{
			values[6] = it->type_hint;
			nparams = 7;
		}
		else if (stmt == STMT_SAVE_FOLDED)
		{
			const FoldedArgs *f = it->folded;

			values[6] = f->sample_type;
			values[7] = f->unit;
			values[8] = f->scale;
			values[9] = f->period_type;
			values[10] = f->period_unit;
			values[11] = f->period;
			values[12] = f->profile_time;
			values[13] = f->duration;
			values[14] = f->lines ? "true" : "false";
			nparams = 15;
		}

		/*
		 * Each save acts for its own tenant first (local to the batch's
		 * transaction; the next item's call replaces it). Should acting
		 * for it fail, so does the batch from there: nothing commits.
		 */
		if (it->tenant && db_prepared(dc, STMT_TENANT) &&
			!PQsendQueryPrepared(conn, db_stmt_name(STMT_TENANT), 1, &it->tenant, NULL, NULL, 0))
			goto broken;
		if (!PQsendQueryPrepared(conn, db_stmt_name(stmt), nparams, values, lengths, formats, 0))
			goto broken;
	}
	if (!PQpipelineSync(conn))
		goto broken;

	for (int i = 0; i < n; i++)
	{
		int			nstmts = items[i]->tenant && db_prepared(dc, STMT_TENANT) ? 2 : 1;

		for (int k = 0; k < nstmts; k++)
		{
			bool		got = false;

			while ((res = db_next_result(dc)) != NULL)
			{
				ExecStatusType st = PQresultStatus(res);

				got = true;
				if (st == PGRES_TUPLES_OK && PQntuples(res) == 1 && k == nstmts - 1)
				{
					snprintf(items[i]->id, sizeof(items[i]->id), "%s", PQgetvalue(res, 0, 0));
					items[i]->replayed = items[i]->key && PQgetvalue(res, 0, 1)[0] == 't';
					if (item_stmt(items[i]) == STMT_SAVE_GUESS)
						snprintf(items[i]->type_out, sizeof(items[i]->type_out), "%s", PQgetvalue(res, 0, 1));
				}
				else if (st == PGRES_FATAL_ERROR && failed_at < 0)
				{
					db_error_from_result(dc, res, &items[i]->err);
					items[i]->status = items[i]->err.status;
					failed_at = i;
				}
				PQclear(res);
			}
			if (!got)
				goto broken;
		}
	}
	/* the Sync: the implicit transaction has committed (or rolled back) */
	res = db_next_result(dc);
	if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC)
	{
		if (res)
		{
			/* an error at commit time (e.g. a deferred check): all fail */
			if (PQresultStatus(res) == PGRES_FATAL_ERROR)
			{
				db_error_from_result(dc, res, &err);
				PQclear(res);
				fail_all(items, n, &err);
				while ((res = db_next_result(dc)) != NULL)
					PQclear(res);
				PQexitPipelineMode(conn);
				return -1;
			}
			PQclear(res);
		}
		goto broken;
	}
	PQclear(res);
	if (!PQexitPipelineMode(conn))
		goto broken;
	metrics_db((now_us() - t0) / 1e6, failed_at >= 0);
	if (failed_at < 0)
	{
		for (int i = 0; i < n; i++)
			items[i]->status = 200;
		metrics_batch(n);
		return -1;
	}
	if (strncmp(items[failed_at]->err.sqlstate, "40", 2) == 0)
		return RETRY_ALL;
	/* a failure that is not about the profile itself fails the whole batch */
	if (items[failed_at]->status >= 500)
	{
		err = items[failed_at]->err;
		fail_all(items, n, &err);
		return -1;
	}
	return failed_at;

broken:
	fail_broken(dc, items, n, t0);
	return -1;
}

/* ---- a batch as one statement: save_profiles over arrays (0.7.0) ---- */

static bool
same_tenant(const SaveItem *a, const SaveItem *b)
{
	return (a->tenant == NULL && b->tenant == NULL) ||
		(a->tenant && b->tenant && strcmp(a->tenant, b->tenant) == 0);
}

/*
 * plain saves (no key, type given, pprof, not a trace) of one tenant; a
 * lone one too (save_profiles is C since 0.8.0: cheaper than save_profile)
 */
static bool
batchable(DbConn *dc, SaveItem **items, int n)
{
	if (n < 1 || !db_prepared(dc, STMT_SAVE_MANY))
		return false;
	for (int i = 0; i < n; i++)
		if (item_stmt(items[i]) != STMT_SAVE || strcmp(items[i]->type, "trace") == 0 ||
			!same_tenant(items[i], items[0]))
			return false;
	return true;
}

/* a text array literal's element: NULL, or the string in double quotes, \ and " escaped */
static void
array_elem(Buf *b, const char *s, bool first)
{
	if (!first)
		buf_append(b, ",", 1);
	if (s == NULL)
	{
		buf_puts(b, "NULL");
		return;
	}
	buf_append(b, "\"", 1);
	for (const char *p = s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, p, 1);
	}
	buf_append(b, "\"", 1);
}

static void
put_be32(Buf *b, uint32_t v)
{
	char		t[4] = {(char) (v >> 24), (char) (v >> 16), (char) (v >> 8), (char) v};

	buf_append(b, t, 4);
}

/*
 * Sends items[0..n) as one save_profiles call. 1: all saved (statuses 200,
 * ids set), or all failed for good (a lone profile refused, or a failure
 * not about the profiles; statuses and errors set); 0: the call failed (nothing
 * saved; the caller saves them one by one, so that each refused profile
 * gets its own error); -1: the connection broke or stalled (all failed,
 * statuses set, connection gone).
 */
static int
run_many(DbConn *dc, SaveItem **items, int n)
{
	PGconn	   *conn = db_pg(dc);
	Buf			arr[6] = {{0}};
	const char *values[6];
	int			lengths[6] = {0},
				formats[6] = {0, 0, 1, 0, 0, 0};
	bool		tenant = items[0]->tenant && db_prepared(dc, STMT_TENANT);
	int			ok = 0,
				got = 0;
	bool		refused = false;	/* the save statement's own error, in err */
	PGresult   *res;
	DbError		err;
	int64_t		t0 = now_us();

	for (int k = 0; k < 6; k++)
		if (k != 2)
			buf_append(&arr[k], "{", 1);
	/* bytea[] in binary: 1 dimension, no NULLs, element type bytea (17), n from 1 */
	put_be32(&arr[2], 1);
	put_be32(&arr[2], 0);
	put_be32(&arr[2], 17);
	put_be32(&arr[2], (uint32_t) n);
	put_be32(&arr[2], 1);
	for (int i = 0; i < n; i++)
	{
		SaveItem   *it = items[i];

		array_elem(&arr[0], it->service, i == 0);
		array_elem(&arr[1], it->type, i == 0);
		put_be32(&arr[2], (uint32_t) it->len);
		buf_append(&arr[2], it->data, it->len);
		array_elem(&arr[3], it->labels_json, i == 0);
		array_elem(&arr[4], it->created_at, i == 0);
		array_elem(&arr[5], it->instance_id, i == 0);
	}
	for (int k = 0; k < 6; k++)
	{
		if (k != 2)
			buf_append(&arr[k], "}", 1);
		if (arr[k].failed)
		{
			for (int j = 0; j < 6; j++)
				buf_free(&arr[j]);
			return 0;
		}
		values[k] = arr[k].data;
	}
	lengths[2] = (int) arr[2].len;

	db_begin(dc);
	if (!PQenterPipelineMode(conn))
		goto broken;
	if (tenant && !PQsendQueryPrepared(conn, db_stmt_name(STMT_TENANT), 1, &items[0]->tenant, NULL, NULL, 0))
		goto broken;
	if (!PQsendQueryPrepared(conn, db_stmt_name(STMT_SAVE_MANY), 6, values, lengths, formats, 0) ||
		!PQpipelineSync(conn))
		goto broken;
	ok = 1;
	for (int k = 0; k < (tenant ? 2 : 1); k++)
	{
		bool		any = false;

		while ((res = db_next_result(dc)) != NULL)
		{
			ExecStatusType st = PQresultStatus(res);

			any = true;
			if (k == (tenant ? 1 : 0) && st == PGRES_TUPLES_OK && PQntuples(res) == n)
			{
				for (int i = 0; i < n; i++)
					snprintf(items[i]->id, sizeof(items[i]->id), "%s", PQgetvalue(res, i, 0));
				got = n;
			}
			else if (st != PGRES_TUPLES_OK)
			{
				if (st == PGRES_FATAL_ERROR)
				{
					db_error_from_result(dc, res, &err);
					refused = k == (tenant ? 1 : 0);
					log_msg(LOG_DEBUG, "saving %d profile(s) in one statement: %s; one by one instead", n, err.message);
				}
				ok = 0;
			}
			PQclear(res);
		}
		if (!any)
			goto broken;
	}
	res = db_next_result(dc);
	if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC)
	{
		/* an error at commit: nothing saved, one by one tells who */
		if (res && PQresultStatus(res) == PGRES_FATAL_ERROR)
		{
			PQclear(res);
			while ((res = db_next_result(dc)) != NULL)
				PQclear(res);
			if (PQpipelineStatus(conn) != PQ_PIPELINE_ON || !PQexitPipelineMode(conn))
				goto broken;
			ok = 0;
			goto out;
		}
		if (res)
			PQclear(res);
		goto broken;
	}
	PQclear(res);
	if (!PQexitPipelineMode(conn))
		goto broken;
	if (ok && got != n)
	{
		/* committed, but not as asked: never save them again */
		snprintf(err.message, sizeof(err.message), "save_profiles returned %d ids for %d profiles", got, n);
		snprintf(err.sqlstate, sizeof(err.sqlstate), "XX000");
		err.status = 500;
		log_msg(LOG_ERROR, "%s", err.message);
		fail_all(items, n, &err);
		ok = 1;
		goto out;
	}
	metrics_db((now_us() - t0) / 1e6, !ok);
	if (ok)
	{
		for (int i = 0; i < n; i++)
			items[i]->status = 200;
		metrics_batch(n);
	}
	else if (refused && strncmp(err.sqlstate, "40", 2) != 0 && (n == 1 || err.status >= 500))
	{
		/*
		 * A lone profile's refusal is its own; a failure not about the
		 * profiles (a statement timeout, say) fails them all, as in the
		 * pipeline: sending them again one by one would wait as long again.
		 * Serialization failures and deadlocks go to the pipeline's retries.
		 */
		fail_all(items, n, &err);
		ok = 1;
	}
out:
	for (int k = 0; k < 6; k++)
		buf_free(&arr[k]);
	return ok;

broken:
	fail_broken(dc, items, n, t0);
	for (int k = 0; k < 6; k++)
		buf_free(&arr[k]);
	return -1;
}

/*
 * Saves batch[0..n), retrying without each profile that fails alone. The
 * caller's array is left as it was (every entry gets marked done).
 */
static void
run_batch(SaveItem **batch, int n)
{
	DbError		err;
	DbConn	   *dc = db_acquire(&err);
	SaveItem   *items[BATCH_MAX_ITEMS];

	memcpy(items, batch, n * sizeof(SaveItem *));

	if (dc == NULL)
	{
		fail_all(items, n, &err);
		return;
	}
	if (batchable(dc, items, n))
	{
		int			r = run_many(dc, items, n);

		if (r != 0)
		{
			db_release(dc);		/* (after -1 the connection is gone: the slot goes back empty) */
			return;
		}
	}
	for (int retries = 0; n > 0;)
	{
		int			bad = run_pipeline(dc, items, n);

		if (bad == RETRY_ALL && ++retries <= 3)
		{
			log_msg(LOG_INFO, "saving %d profile(s): %s; trying again", n, items[0]->err.message);
			continue;
		}
		if (bad == RETRY_ALL)
		{
			DbError		err = items[0]->err;

			for (int i = 0; i < n; i++)
				if (items[i]->err.sqlstate[0])
					err = items[i]->err;
			err.status = 503;
			fail_all(items, n, &err);
			break;
		}
		if (bad < 0)
			break;
		/* drop the failed one, keep the rest in order, send again */
		memmove(items + bad, items + bad + 1, (n - bad - 1) * sizeof(SaveItem *));
		n--;
	}
	db_release(dc);
}

/*
 * Saves profiles; returns when the fate of each is known (item->status).
 * Each waiter sleeps on a condition variable of its own and is woken only when
 * its profile is committed (or failed), or when it should lead the next
 * batch: no thundering herd at every commit.
 */
void
saver_submit_all(SaveItem **items, int nitems)
{
	SaveItem   *batch[BATCH_MAX_ITEMS];
	pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
	int			ndone = 0;

	if (nitems <= 0)
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nitems; i++)
	{
		SaveItem   *item = items[i];

		item->wake = &wake;
		item->done = false;
		item->next = NULL;
		item->status = 0;
		item->id[0] = '\0';
		if (tail)
			tail->next = item;
		else
			head = item;
		tail = item;
	}

	while (ndone < nitems)
	{
		if (head != NULL && active_batches < max_active)
		{
			int			n = 0;
			size_t		bytes = 0;

			/* take the queue's head: at least one, then as many as fit */
			while (head && n < BATCH_MAX_ITEMS && (n == 0 || bytes + head->len <= BATCH_MAX_BYTES))
			{
				batch[n++] = head;
				bytes += head->len;
				head = head->next;
			}
			if (head == NULL)
				tail = NULL;
			active_batches++;
			pthread_mutex_unlock(&lock);

			run_batch(batch, n);

			pthread_mutex_lock(&lock);
			active_batches--;
			for (int i = 0; i < n; i++)
			{
				batch[i]->done = true;
				if (batch[i]->wake != &wake)
					pthread_cond_signal(batch[i]->wake);
			}
			ndone = 0;
			for (int i = 0; i < nitems; i++)
				ndone += items[i]->done;
			/* whoever queued first leads the next batch (unless we loop) */
			if (head != NULL && ndone == nitems)
				pthread_cond_signal(head->wake);
		}
		else
		{
			pthread_cond_wait(&wake, &lock);
			ndone = 0;
			for (int i = 0; i < nitems; i++)
				ndone += items[i]->done;
		}
	}
	pthread_mutex_unlock(&lock);
	pthread_cond_destroy(&wake);
}

void
saver_submit(SaveItem *item)
{
	saver_submit_all(&item, 1);
}
