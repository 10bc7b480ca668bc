/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  Counters for GET /metrics in Prometheus' text format: requests by
 *	  route and status with their durations, bytes and profiles stored by
 *	  type, database statement latency, save batches. Lock-free (atomic
 *	  adds) so that counting never slows a request.
 *
 * src/collector/metrics.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "params.h"
#include "routes.h"
#include "settings.h"
#include "util.h"

static const char *const route_names[ROUTE_COUNT] = {
	[ROUTE_PROFILES_POST] = "profiles_post",
	[ROUTE_PROFILES_FIND] = "profiles_find",
	[ROUTE_MERGE] = "profiles_merge",
	[ROUTE_BY_ID] = "profiles_by_id",
	[ROUTE_SERVICES] = "services",
	[ROUTE_VERSION] = "version",
	[ROUTE_OLD_POST] = "profile_post_v0",
	[ROUTE_OLD_GET] = "profile_get_v0",
	[ROUTE_SERIES] = "profiles_series",
	[ROUTE_FLAME] = "profiles_flamegraph",
	[ROUTE_TOP] = "profiles_top",
	[ROUTE_LABELS] = "labels",
	[ROUTE_LABEL_VALUES] = "label_values",
	[ROUTE_TYPES] = "types",
	[ROUTE_UI] = "ui",
	[ROUTE_METRICS] = "metrics",
	[ROUTE_HEALTHZ] = "healthz",
	[ROUTE_INGEST] = "pyroscope_ingest",
	[ROUTE_OTLP] = "otlp_profiles",
	[ROUTE_OTHER] = "other",
};

static const int codes[] = {200, 400, 404, 405, 413, 500, 503};
#define NCODES (int) (sizeof(codes) / sizeof(codes[0]))

static const char *const types[] = {"cpu", "heap", "allocs", "block", "mutex", "goroutine",
"threadcreate", "wall", "other", "trace"};
#define NTYPES (int) (sizeof(types) / sizeof(types[0]))

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (int) (sizeof(buckets) / sizeof(buckets[0]))

typedef struct Histogram
{
	uint64_t	bucket[NBUCKETS];	/* not cumulative; summed when rendered */
	uint64_t	count;
	uint64_t	sum_us;
} Histogram;

static uint64_t requests[ROUTE_COUNT][NCODES + 1];	/* last: any other code */
static Histogram request_seconds[ROUTE_COUNT];
static uint64_t stored_profiles[NTYPES];
static uint64_t stored_bytes[NTYPES];
static Histogram db_seconds;
static uint64_t db_errors;
static uint64_t db_stalls;		/* connections given up on: no answer in time (db.c) */
static uint64_t auth_checks[2];	/* token checks: [0] asked PostgreSQL, [1] from the cache */
static uint64_t header_timeouts;	/* connections cut waiting for headers (guard.c) */
static uint64_t batches,
			batched_items;
static uint64_t scrapes_started,
			scrapes_ok,
			scrapes_failed;
static Histogram scrape_seconds;
static Histogram scrape_lateness;
static uint64_t refreshes[3];
static uint64_t retentions[2];	/* [0] ok, [1] failed or skipped */
static uint64_t rollups_written;
static Histogram refresh_seconds;
static uint64_t packs[3];
static uint64_t profiles_packed;

/* per scrape target, as this collector last saw it */
typedef struct TargetState
{
	long long	target_id;
	char	   *service;
	char	   *instance;
	bool		up;
	int			failures;
	double		last_seconds;
	time_t		last_scrape;
} TargetState;

static pthread_mutex_t targets_lock = PTHREAD_MUTEX_INITIALIZER;
static TargetState *targets;
static int	ntargets;

#define ADD(var, n) __atomic_add_fetch(&(var), (n), __ATOMIC_RELAXED)
#define LOAD(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)

static void
observe(Histogram *h, double seconds)
{
	int			i = 0;

	while (i < NBUCKETS && seconds > buckets[i])
		i++;
	if (i < NBUCKETS)
		ADD(h->bucket[i], 1);
	ADD(h->count, 1);
	ADD(h->sum_us, (uint64_t) (seconds * 1e6));
}

void
metrics_request(Route r, int status, double seconds)
{
	int			i = 0;

	while (i < NCODES && codes[i] != status)
		i++;
	ADD(requests[r][i], 1);
	observe(&request_seconds[r], seconds);
}

void
metrics_ingested(const char *type, size_t bytes)
{
	for (int i = 0; i < NTYPES; i++)
		if (strcmp(types[i], type) == 0)
		{
			ADD(stored_profiles[i], 1);
			ADD(stored_bytes[i], bytes);
		}
}

void
metrics_db(double seconds, bool failed)
{
	observe(&db_seconds, seconds);
	if (failed)
		ADD(db_errors, 1);
}

void
metrics_auth(bool cached)
{
	ADD(auth_checks[cached ? 1 : 0], 1);
}

void
metrics_db_stall(void)
{
	ADD(db_stalls, 1);
}

void
metrics_header_timeouts(long n)
{
	ADD(header_timeouts, (uint64_t) n);
}

void
metrics_batch(int items)
{
	ADD(batches, 1);
	ADD(batched_items, (uint64_t) items);
}

void
metrics_retention(bool ok)
{
	ADD(retentions[ok ? 0 : 1], 1);
}

void
metrics_refresh(RefreshResult result, long long written, double seconds)
{
	ADD(refreshes[result], 1);
	if (written > 0)
		ADD(rollups_written, (uint64_t) written);
	observe(&refresh_seconds, seconds);
}

void
metrics_pack(RefreshResult result, long long packed)
{
	ADD(packs[result], 1);
	if (packed > 0)
		ADD(profiles_packed, (uint64_t) packed);
}

void
metrics_scrape_start(double late_seconds)
{
	ADD(scrapes_started, 1);
	observe(&scrape_lateness, late_seconds < 0 ? 0 : late_seconds);
}

void
metrics_scrape_done(long long target_id, const char *service, const char *instance, bool ok, double seconds)
{
	TargetState *t = NULL;

	ADD(*(ok ? &scrapes_ok : &scrapes_failed), 1);
	observe(&scrape_seconds, seconds);
	pthread_mutex_lock(&targets_lock);
	for (int i = 0; i < ntargets; i++)
		if (targets[i].target_id == target_id)
			t = &targets[i];
	if (t == NULL)
	{
		TargetState *grown = realloc(targets, (ntargets + 1) * sizeof(TargetState));

		if (grown != NULL)
		{
			targets = grown;
			t = &targets[ntargets++];
			memset(t, 0, sizeof(*t));
			t->target_id = target_id;
		}
	}
	if (t != NULL)
	{
		/* a target's service or URL may change between scrapes */
		if (t->service == NULL || strcmp(t->service, service) != 0)
		{
			free(t->service);
			t->service = strdup(service);
		}
		if (t->instance == NULL || strcmp(t->instance, instance) != 0)
		{
			free(t->instance);
			t->instance = strdup(instance);
		}
		t->up = ok;
		t->failures = ok ? 0 : t->failures + 1;
		t->last_seconds = seconds;
		t->last_scrape = time(NULL);
	}
	pthread_mutex_unlock(&targets_lock);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
label_value(Buf *b, const char *s)
{
	for (; s && *s; s++)
	{
		if (*s == '\\' || *s == '"')
		{
			char		esc[2] = {'\\', *s};

			buf_append(b, esc, 2);
		}
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_append(b, s, 1);
	}
}

static void
render_targets(Buf *b)
{
	static const char *const names[] = {"up", "consecutive_failures", "last_duration_seconds",
	"last_scrape_timestamp_seconds"};
	static const char *const help[] = {
		"1 if the target's last scrape by this collector stored every profile type, else 0.",
		"Failed scrapes in a row, as seen by this collector.",
		"How long the target's last scrape took.",
		"When this collector last scraped the target (Unix time)."};

	pthread_mutex_lock(&targets_lock);
	/* targets this collector has not scraped for an hour are gone (deleted, or another's now) */
	{
		time_t		cutoff = time(NULL) - 3600;
		int			k = 0;

		for (int i = 0; i < ntargets; i++)
		{
			if (targets[i].last_scrape < cutoff)
			{
				free(targets[i].service);
				free(targets[i].instance);
				continue;
			}
			targets[k++] = targets[i];
		}
		ntargets = k;
	}
	for (int m = 0; m < 4; m++)
	{
		buf_printf(b, "# HELP profefe_scrape_target_%s %s\n# TYPE profefe_scrape_target_%s gauge\n",
				   names[m], help[m], names[m]);
		for (int i = 0; i < ntargets; i++)
		{
			TargetState *t = &targets[i];

			buf_printf(b, "profefe_scrape_target_%s{target_id=\"%lld\",service=\"", names[m], t->target_id);
			label_value(b, t->service);
			buf_puts(b, "\",instance=\"");
			label_value(b, t->instance);
			if (m == 0)
				buf_printf(b, "\"} %d\n", t->up ? 1 : 0);
			else if (m == 1)
				buf_printf(b, "\"} %d\n", t->failures);
			else if (m == 2)
				buf_printf(b, "\"} %.3f\n", t->last_seconds);
			else
				buf_printf(b, "\"} %lld\n", (long long) t->last_scrape);
		}
	}
	pthread_mutex_unlock(&targets_lock);
}

static void
render_histogram(Buf *b, const char *name, const char *labels, Histogram *h)
{
	uint64_t	cum = 0;
	const char *sep = labels[0] ? "," : "";

	for (int i = 0; i < NBUCKETS; i++)
	{
		cum += LOAD(h->bucket[i]);
		buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, buckets[i],
				   (unsigned long long) cum);
	}
	buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
			   (unsigned long long) LOAD(h->count));
	buf_printf(b, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
			   LOAD(h->sum_us) / 1e6);
	buf_printf(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
			   (unsigned long long) LOAD(h->count));
}

void
metrics_render(Buf *b)
{
	char		labels[64];

	buf_puts(b, "# HELP profefe_http_requests_total HTTP requests by route and status code.\n"
			 "# TYPE profefe_http_requests_total counter\n");
	for (int r = 0; r < ROUTE_COUNT; r++)
		for (int i = 0; i <= NCODES; i++)
		{
			uint64_t	v = LOAD(requests[r][i]);

			if (v == 0)
				continue;
			if (i < NCODES)
				buf_printf(b, "profefe_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
						   route_names[r], codes[i], (unsigned long long) v);
			else
				buf_printf(b, "profefe_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
						   route_names[r], (unsigned long long) v);
		}
	buf_puts(b, "# HELP profefe_http_request_duration_seconds Time from request to reply.\n"
			 "# TYPE profefe_http_request_duration_seconds histogram\n");
	for (int r = 0; r < ROUTE_COUNT; r++)
	{
		if (LOAD(request_seconds[r].count) == 0)
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"", route_names[r]);
		render_histogram(b, "profefe_http_request_duration_seconds", labels, &request_seconds[r]);
	}
	buf_puts(b, "# HELP profefe_profiles_stored_total Profiles committed to the store, by type.\n"
			 "# TYPE profefe_profiles_stored_total counter\n");
	for (int i = 0; i < NTYPES; i++)
		buf_printf(b, "profefe_profiles_stored_total{type=\"%s\"} %llu\n", types[i],
				   (unsigned long long) LOAD(stored_profiles[i]));
	buf_puts(b, "# HELP profefe_ingested_bytes_total Bytes of profiles committed to the store, as received.\n"
			 "# TYPE profefe_ingested_bytes_total counter\n");
	for (int i = 0; i < NTYPES; i++)
		buf_printf(b, "profefe_ingested_bytes_total{type=\"%s\"} %llu\n", types[i],
				   (unsigned long long) LOAD(stored_bytes[i]));
	buf_puts(b, "# HELP profefe_db_duration_seconds Database round trips (statements and save batches).\n"
			 "# TYPE profefe_db_duration_seconds histogram\n");
	render_histogram(b, "profefe_db_duration_seconds", "", &db_seconds);
	buf_printf(b, "# HELP profefe_db_errors_total Database round trips that failed.\n"
			   "# TYPE profefe_db_errors_total counter\nprofefe_db_errors_total %llu\n",
			   (unsigned long long) LOAD(db_errors));
	buf_printf(b, "# HELP profefe_db_stalls_total Database connections dropped because no answer came within "
			   "the statement timeout and a grace.\n"
			   "# TYPE profefe_db_stalls_total counter\nprofefe_db_stalls_total %llu\n",
			   (unsigned long long) LOAD(db_stalls));
	buf_printf(b, "# HELP profefe_http_header_timeouts_total Connections cut while waiting for a request's headers "
			   "(past -header-timeout, or past 1 s while more than half the connection slots waited).\n"
			   "# TYPE profefe_http_header_timeouts_total counter\nprofefe_http_header_timeouts_total %llu\n",
			   (unsigned long long) LOAD(header_timeouts));
	buf_printf(b, "# HELP profefe_token_checks_total Tokens checked, in PostgreSQL or from the cache.\n"
			   "# TYPE profefe_token_checks_total counter\n"
			   "profefe_token_checks_total{source=\"database\"} %llu\n"
			   "profefe_token_checks_total{source=\"cache\"} %llu\n",
			   (unsigned long long) LOAD(auth_checks[0]), (unsigned long long) LOAD(auth_checks[1]));
	buf_printf(b, "# HELP profefe_save_batches_total Transactions that committed saved profiles.\n"
			   "# TYPE profefe_save_batches_total counter\nprofefe_save_batches_total %llu\n",
			   (unsigned long long) LOAD(batches));
	buf_printf(b, "# HELP profefe_save_batch_profiles_total Profiles committed by those transactions.\n"
			   "# TYPE profefe_save_batch_profiles_total counter\nprofefe_save_batch_profiles_total %llu\n",
			   (unsigned long long) LOAD(batched_items));
	buf_printf(b, "# HELP profefe_scrapes_total Scrapes of targets finished, by result (error: a type failed).\n"
			   "# TYPE profefe_scrapes_total counter\nprofefe_scrapes_total{result=\"ok\"} %llu\n"
			   "profefe_scrapes_total{result=\"error\"} %llu\n",
			   (unsigned long long) LOAD(scrapes_ok), (unsigned long long) LOAD(scrapes_failed));
	buf_printf(b, "# HELP profefe_scrapes_in_progress Scrapes started and not finished.\n"
			   "# TYPE profefe_scrapes_in_progress gauge\nprofefe_scrapes_in_progress %lld\n",
			   (long long) (LOAD(scrapes_started) - LOAD(scrapes_ok) - LOAD(scrapes_failed)));
	buf_puts(b, "# HELP profefe_scrape_duration_seconds How long a target's scrape took (all its types).\n"
			 "# TYPE profefe_scrape_duration_seconds histogram\n");
	render_histogram(b, "profefe_scrape_duration_seconds", "", &scrape_seconds);
	buf_puts(b, "# HELP profefe_scrape_lateness_seconds How long after it was due a scrape started.\n"
			 "# TYPE profefe_scrape_lateness_seconds histogram\n");
	render_histogram(b, "profefe_scrape_lateness_seconds", "", &scrape_lateness);
	buf_printf(b, "# HELP profefe_rollup_refreshes_total Calls of profefe.refresh_rollups(), by result "
			   "(busy: another refresh was running).\n"
			   "# TYPE profefe_rollup_refreshes_total counter\n"
			   "profefe_rollup_refreshes_total{result=\"ok\"} %llu\n"
			   "profefe_rollup_refreshes_total{result=\"busy\"} %llu\n"
			   "profefe_rollup_refreshes_total{result=\"failed\"} %llu\n",
			   (unsigned long long) LOAD(refreshes[REFRESH_OK]), (unsigned long long) LOAD(refreshes[REFRESH_BUSY]),
			   (unsigned long long) LOAD(refreshes[REFRESH_FAILED]));
	buf_printf(b, "# HELP profefe_rollups_written_total Hourly and daily rollups those calls wrote.\n"
			   "# TYPE profefe_rollups_written_total counter\nprofefe_rollups_written_total %llu\n",
			   (unsigned long long) LOAD(rollups_written));
	buf_printf(b, "# HELP profefe_pack_calls_total Calls of profefe.pack_profiles(), by result "
			   "(busy: another call was packing).\n"
			   "# TYPE profefe_pack_calls_total counter\n"
			   "profefe_pack_calls_total{result=\"ok\"} %llu\n"
			   "profefe_pack_calls_total{result=\"busy\"} %llu\n"
			   "profefe_pack_calls_total{result=\"failed\"} %llu\n",
			   (unsigned long long) LOAD(packs[REFRESH_OK]), (unsigned long long) LOAD(packs[REFRESH_BUSY]),
			   (unsigned long long) LOAD(packs[REFRESH_FAILED]));
	buf_printf(b, "# HELP profefe_profiles_packed_total Profiles those calls moved into packs.\n"
			   "# TYPE profefe_profiles_packed_total counter\nprofefe_profiles_packed_total %llu\n",
			   (unsigned long long) LOAD(profiles_packed));
	buf_printf(b, "# HELP profefe_retention_runs_total Runs of profefe.enforce_retention(), by result "
			   "(failed: the database refused or could not be reached).\n"
			   "# TYPE profefe_retention_runs_total counter\n"
			   "profefe_retention_runs_total{result=\"ok\"} %llu\n"
			   "profefe_retention_runs_total{result=\"failed\"} %llu\n",
			   (unsigned long long) LOAD(retentions[0]), (unsigned long long) LOAD(retentions[1]));
	buf_puts(b, "# HELP profefe_rollup_refresh_duration_seconds How long a call of profefe.refresh_rollups() took.\n"
			 "# TYPE profefe_rollup_refresh_duration_seconds histogram\n");
	render_histogram(b, "profefe_rollup_refresh_duration_seconds", "", &refresh_seconds);
	render_targets(b);
}
