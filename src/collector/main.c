/*-------------------------------------------------------------------------
 *
 * main.c
 *	  profefe-collector: flags, start-up, periodic retention, and a clean
 *	  shutdown on SIGTERM/SIGINT (stop accepting, let requests in progress
 *	  finish, close the database connections).
 *
 * src/collector/main.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auth.h"
#include "db.h"
#include "metrics.h"
#include "saver.h"
#include "scraper.h"
#include "server.h"
#include "settings.h"
#include "util.h"

Settings	settings = {
	.addr = ":10100",
	.db = "",
	.log_level = LOG_INFO,
	.max_body = 32 * 1024 * 1024,
	.pool_size = 8,
	.timeout_ms = 60000,
	.maintenance_timeout_ms = 600000,
	.retention_s = 3600,
	.rollup_s = 60,
	.max_conns = 1000,
	.writers = 2,
	.scrape_workers = 256,
	.scrape_poll_ms = 200,
	.auth_mode = AUTH_TOKENS,
	.auth_cache_ms = 5000,
	.header_timeout_ms = 20000,
	.max_conns_per_ip = 256,
};

static void
usage(FILE *out)
{
	fprintf(out,
			"profefe-collector " COLLECTOR_VERSION ": profefe's HTTP API over PostgreSQL\n"
			"\n"
			"usage: profefe-collector [flags]\n"
			"  -addr ADDR              listen address, host:port or :port (default :10100)\n"
			"  -db CONNINFO            libpq connection string or URI (default: the PG* environment)\n"
			"  -log.level LEVEL        debug|info|warn|error; info logs one line per request (default info)\n"
			"  -max-body SIZE          largest request body, e.g. 32MiB (default 32MiB)\n"
			"  -db.pool N              database connections (default 8)\n"
			"  -db.writers N           of those, how many save batches at once (default 2)\n"
			"  -timeout DURATION       per request: database statements and idle clients (default 60s)\n"
			"  -maintenance-timeout D  the statement timeout of rollup refreshes, packing and retention\n"
			"                          (default 10m; never below -timeout)\n"
			"  -retention-interval D   run profefe.apply_retention() this often, 0 = never (default 1h)\n"
			"  -rollup-interval D      run profefe.refresh_rollups() this often, 0 = never (default 1m)\n"
			"  -max-connections N      concurrent HTTP connections (default 1000)\n"
			"  -max-connections-per-ip N  of those, from one address (default 256, 0 = no limit;\n"
			"                          raise it behind a proxy, whose connections all come from it)\n"
			"  -header-timeout D       a request's headers must arrive within this of connecting (or of the\n"
			"                          previous request); with over half the connections waiting, within 1s\n"
			"                          (default 20s, 0 = off)\n"
			"  -scrape.workers N       targets of profefe.scrape_targets scraped at once; 0 = no scraping (default 256)\n"
			"  -scrape.poll DURATION   how often to look for due targets (default 200ms)\n"
			"  -scrape.file PATH       static targets, one a line: service url [interval=60s] [cpu=10]\n"
			"                          [types=cpu,heap,...] [labels=k=v,...] [delta=false] [timeout=30s]\n"
			"  -tls.cert PATH          serve HTTPS with this certificate (PEM, with its chain)\n"
			"  -tls.key PATH           ... and this private key (PEM); both or neither\n"
			"  -auth MODE              tokens: every request needs an API token (profefe.create_api_token);\n"
			"                          header: a fronting proxy names the tenant (-auth.header), from\n"
			"                          -auth.trusted-proxies only; none: no authentication, everything is the\n"
			"                          default tenant's (default tokens)\n"
			"  -auth.header NAME       the tenant header of -auth header (default X-Scope-OrgID)\n"
			"  -auth.trusted-proxies L addresses or CIDRs (comma-separated) whose -auth.header is believed\n"
			"  -auth.cache DURATION    how long a verified token is trusted before it is checked again;\n"
			"                          a revoked token stops working within this (default 5s, 0 = always check)\n"
			"  -version                print the version and exit\n"
			"  -help                   this text\n"
			"\n"
			"The database needs the profefe extension (0.2.0 or later); the collector's role needs\n"
			"profefe_writer and profefe_reader, and profefe_scraper to scrape; with tokens or tenants,\n"
			"profefe_collector (which has all three). See docs/security.md.\n");
}

/*
 * A PEM file's contents, NUL-terminated (libmicrohttpd takes them from
 * memory); NULL with err set when it cannot be read or is not PEM.
 */
static char *
read_pem(const char *path, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "r");
	Buf			b = {0};
	char		chunk[4096];
	size_t		n;

	if (f == NULL)
	{
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < 1024 * 1024)
		buf_append(&b, chunk, n);
	fclose(f);
	buf_append(&b, "", 1);
	if (b.failed || strstr(b.data, "-----BEGIN ") == NULL)
	{
		snprintf(err, errlen, "%s is not a PEM file", path);
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* "90s", "1m", "500ms", "2h", or plain seconds; -1 if malformed. */
static long long
parse_duration_ms(const char *s)
{
	char	   *end;
	double		v = strtod(s, &end);

	if (end == s || v < 0)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return (long long) (v * 1000);
	if (strcmp(end, "ms") == 0)
		return (long long) v;
	if (strcmp(end, "m") == 0)
		return (long long) (v * 60000);
	if (strcmp(end, "h") == 0)
		return (long long) (v * 3600000);
	return -1;
}

/* "32MiB", "32MB", "512k", "1048576"; 0 if malformed. */
static size_t
parse_size(const char *s)
{
	char	   *end;
	double		v = strtod(s, &end);
	double		mult = 1;

	if (end == s || v <= 0)
		return 0;
	if (*end == '\0' || strcasecmp(end, "b") == 0)
		mult = 1;
	else if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kb") == 0 || strcasecmp(end, "kib") == 0)
		mult = 1024;
	else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mb") == 0 || strcasecmp(end, "mib") == 0)
		mult = 1024 * 1024;
	else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "gb") == 0 || strcasecmp(end, "gib") == 0)
		mult = 1024.0 * 1024 * 1024;
	else
		return 0;
	if (v * mult > 1024.0 * 1024 * 1024)	/* libpq sends at most 1 GB values */
		return 0;
	return (size_t) (v * mult);
}

static void
bad_flag(const char *name, const char *value, const char *want)
{
	fprintf(stderr, "profefe-collector: invalid value \"%s\" for -%s: %s\n", value, name, want);
	exit(2);
}

static void
parse_flags(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
	{
		char	   *arg = argv[i];
		char	   *name,
				   *value,
				   *eq;

		if (arg[0] != '-')
		{
			fprintf(stderr, "profefe-collector: unexpected argument \"%s\"\n", arg);
			usage(stderr);
			exit(2);
		}
		name = arg + (arg[1] == '-' ? 2 : 1);
		if (strcmp(name, "help") == 0 || strcmp(name, "h") == 0)
		{
			usage(stdout);
			exit(0);
		}
		if (strcmp(name, "version") == 0)
		{
			printf("profefe-collector %s\n", COLLECTOR_VERSION);
			exit(0);
		}
		if ((eq = strchr(name, '=')) != NULL)
		{
			*eq = '\0';
			value = eq + 1;
		}
		else if (i + 1 < argc)
			value = argv[++i];
		else
		{
			fprintf(stderr, "profefe-collector: flag -%s needs a value\n", name);
			exit(2);
		}

		if (strcmp(name, "addr") == 0)
			settings.addr = value;
		else if (strcmp(name, "db") == 0)
			settings.db = value;
		else if (strcmp(name, "log.level") == 0)
		{
			if ((settings.log_level = log_level_from_name(value)) < 0)
				bad_flag(name, value, "want debug, info, warn or error");
		}
		else if (strcmp(name, "max-body") == 0)
		{
			if ((settings.max_body = parse_size(value)) == 0)
				bad_flag(name, value, "want a size such as 32MiB (at most 1GiB)");
		}
		else if (strcmp(name, "db.pool") == 0)
		{
			settings.pool_size = atoi(value);
			if (settings.pool_size < 1 || settings.pool_size > 1000)
				bad_flag(name, value, "want 1 to 1000");
		}
		else if (strcmp(name, "db.writers") == 0)
		{
			settings.writers = atoi(value);
			if (settings.writers < 1 || settings.writers > 1000)
				bad_flag(name, value, "want 1 to 1000 (at most -db.pool)");
		}
		else if (strcmp(name, "timeout") == 0)
		{
			long long	ms = parse_duration_ms(value);

			if (ms < 100 || ms > 24LL * 3600 * 1000)
				bad_flag(name, value, "want a duration from 100ms to 24h, e.g. 60s");
			settings.timeout_ms = (int) ms;
		}
		else if (strcmp(name, "maintenance-timeout") == 0)
		{
			long long	ms = parse_duration_ms(value);

			if (ms < 100 || ms > 24LL * 3600 * 1000)
				bad_flag(name, value, "want a duration from 100ms to 24h, e.g. 10m");
			settings.maintenance_timeout_ms = (int) ms;
		}
		else if (strcmp(name, "retention-interval") == 0)
		{
			long long	ms = parse_duration_ms(value);

			if (ms < 0 || (ms > 0 && ms < 1000))
				bad_flag(name, value, "want 0 (off) or a duration of at least 1s, e.g. 1h");
			settings.retention_s = (int) (ms / 1000);
		}
		else if (strcmp(name, "rollup-interval") == 0)
		{
			long long	ms = parse_duration_ms(value);

			if (ms < 0 || (ms > 0 && ms < 1000))
				bad_flag(name, value, "want 0 (off) or a duration of at least 1s, e.g. 1m");
			settings.rollup_s = (int) (ms / 1000);
		}
		else if (strcmp(name, "max-connections") == 0)
		{
			settings.max_conns = atoi(value);
			if (settings.max_conns < 1 || settings.max_conns > 100000)
				bad_flag(name, value, "want 1 to 100000");
		}
		else if (strcmp(name, "scrape.workers") == 0)
		{
			char	   *end;

			settings.scrape_workers = (int) strtol(value, &end, 10);
			if (*end != '\0' || settings.scrape_workers < 0 || settings.scrape_workers > 10000)
				bad_flag(name, value, "want 0 (off) to 10000");
		}
		else if (strcmp(name, "scrape.poll") == 0)
		{
			long long	ms = parse_duration_ms(value);

			if (ms < 10 || ms > 60000)
				bad_flag(name, value, "want a duration from 10ms to 60s, e.g. 500ms");
			settings.scrape_poll_ms = (int) ms;
		}
		else if (strcmp(name, "scrape.file") == 0)
			settings.scrape_file = value;
		else if (strcmp(name, "tls.cert") == 0)
			settings.tls_cert = value;
		else if (strcmp(name, "tls.key") == 0)
			settings.tls_key = value;
		else if (strcmp(name, "auth") == 0)
		{
			if (strcmp(value, "tokens") == 0)
				settings.auth_mode = AUTH_TOKENS;
			else if (strcmp(value, "none") == 0)
				settings.auth_mode = AUTH_NONE;
			else if (strcmp(value, "header") == 0)
				settings.auth_mode = AUTH_HEADER;
			else
				bad_flag(name, value, "want tokens, header or none");
		}
		else if (strcmp(name, "auth.header") == 0)
		{
			if (value[0] == '\0' || strpbrk(value, " :\t\r\n"))
				bad_flag(name, value, "want a header name, e.g. X-Scope-OrgID");
			settings.auth_header = value;
		}
		else if (strcmp(name, "max-connections-per-ip") == 0)
		{
			char	   *end;

			settings.max_conns_per_ip = (int) strtol(value, &end, 10);
			if (*end != '\0' || settings.max_conns_per_ip < 0 || settings.max_conns_per_ip > 100000)
				bad_flag(name, value, "want 0 (no limit) to 100000");
		}
		else if (strcmp(name, "header-timeout") == 0)
		{
			long long	ms = parse_duration_ms(value);

			if (ms < 0 || (ms > 0 && ms < 1000) || ms > 3600 * 1000)
				bad_flag(name, value, "want 0 (off) or a duration from 1s to 1h, e.g. 20s");
			settings.header_timeout_ms = (int) ms;
		}
		else if (strcmp(name, "auth.trusted-proxies") == 0)
			settings.auth_trusted_proxies = value;
		else if (strcmp(name, "auth.cache") == 0)
		{
			long long	ms = parse_duration_ms(value);

			if (ms < 0 || ms > 3600 * 1000)
				bad_flag(name, value, "want a duration from 0 to 1h, e.g. 5s");
			settings.auth_cache_ms = (int) ms;
		}
		else
		{
			fprintf(stderr, "profefe-collector: unknown flag -%s\n", name);
			usage(stderr);
			exit(2);
		}
	}
}

static void
run_retention(void)
{
	DbError		err;
	DbConn	   *c = db_acquire(&err);
	PGresult   *res;

	if (c == NULL)
	{
		log_msg(LOG_WARN, "retention skipped: %s", err.message);
		metrics_retention(false);
		return;
	}
	res = db_exec_maintenance(c, STMT_RETENTION, 0, NULL, &err);
	db_release(c);
	metrics_retention(res != NULL);
	if (res == NULL)
		log_msg(LOG_WARN, "retention failed: %s", err.message);
	else
		log_msg(LOG_INFO, "retention: %s old profile(s) removed", PQgetvalue(res, 0, 0));
	PQclear(res);
}

/*
 * Rolls up what is due, one hour per call so that each statement stays
 * short and a backlog (a new install over old data, an outage) is worked
 * off over several runs: at most half the request timeout per run, and
 * not past a pending SIGTERM. Another collector refreshing at the same
 * time makes the call return NULL at once.
 */
static void
run_rollups(void)
{
	int64_t		t0 = now_us();
	int64_t		budget = (int64_t) settings.timeout_ms * 500;
	long long	total = 0;

	for (;;)
	{
		DbError		err;
		DbConn	   *c = db_acquire(&err);
		const char *values[1] = {"1"};
		PGresult   *res;
		int64_t		t1 = now_us();
		long long	n;
		sigset_t	pending;

		if (c == NULL)
		{
			log_msg(LOG_WARN, "rollups skipped: %s", err.message);
			return;
		}
		res = db_exec_maintenance(c, STMT_REFRESH, 1, values, &err);
		db_release(c);
		if (res == NULL)
		{
			metrics_refresh(REFRESH_FAILED, 0, (now_us() - t1) / 1e6);
			log_msg(LOG_WARN, "rollups failed: %s", err.message);
			return;
		}
		if (PQgetisnull(res, 0, 0))
		{
			PQclear(res);
			metrics_refresh(REFRESH_BUSY, 0, (now_us() - t1) / 1e6);
			log_msg(LOG_DEBUG, "rollups: another refresh is running");
			return;
		}
		n = atoll(PQgetvalue(res, 0, 0));
		PQclear(res);
		metrics_refresh(REFRESH_OK, n, (now_us() - t1) / 1e6);
		total += n;
		sigpending(&pending);
		if (n == 0 || now_us() - t0 > budget ||
			sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1)
			break;
	}
	if (total > 0)
		log_msg(LOG_INFO, "rollups: %lld written in %.1fs", total, (now_us() - t0) / 1e6);
}

/*
 * Packs the profiles of rolled-up hours (0.9.0), PACK_BATCH a call so that
 * each transaction stays short, again while a call packs a whole batch,
 * within the same budget as run_rollups. A database without
 * pack_profiles (before 0.9.0) is skipped quietly.
 */
#define PACK_BATCH "20000"

static void
run_packing(void)
{
	int64_t		t0 = now_us();
	int64_t		budget = (int64_t) settings.timeout_ms * 500;
	long long	total = 0;

	for (;;)
	{
		DbError		err;
		DbConn	   *c = db_acquire(&err);
		const char *values[1] = {PACK_BATCH};
		PGresult   *res;
		long long	n;
		sigset_t	pending;

		if (c == NULL)
		{
			log_msg(LOG_WARN, "packing skipped: %s", err.message);
			return;
		}
		res = db_exec_maintenance(c, STMT_PACK, 1, values, &err);
		db_release(c);
		if (res == NULL)
		{
			if (strstr(err.message, "pack_profiles") == NULL || strstr(err.message, "does not exist") == NULL)
			{
				metrics_pack(REFRESH_FAILED, 0);
				log_msg(LOG_WARN, "packing failed: %s", err.message);
			}
			return;
		}
		if (PQgetisnull(res, 0, 0))
		{
			PQclear(res);
			metrics_pack(REFRESH_BUSY, 0);
			log_msg(LOG_DEBUG, "packing: another call is packing");
			return;
		}
		n = atoll(PQgetvalue(res, 0, 0));
		PQclear(res);
		metrics_pack(REFRESH_OK, n);
		total += n;
		sigpending(&pending);
		if (n < atoll(PACK_BATCH) || now_us() - t0 > budget ||
			sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1)
			break;
	}
	if (total > 0)
		log_msg(LOG_INFO, "packing: %lld profile(s) packed in %.1fs", total, (now_us() - t0) / 1e6);
}

/*
 * Descriptors the collector needs besides its connections and scrapes:
 * stdio, the listening socket, libmicrohttpd's event and wake-up fds, the
 * log, files read at run time (CA files), resolvers.
 */
#define FD_RESERVE 64

/* a scrape fetches all of a target's types at once: one socket each, at most 7 */
#define FDS_PER_SCRAPE 7

/*
 * Every HTTP connection, pooled database connection and scrape takes a
 * file descriptor. Running out would fail the wrong thing first (the
 * database reconnect after a restart, "could not create socket"), so the
 * soft limit is raised towards the hard one, and if that is still too
 * small the HTTP connections and scrape workers are cut to fit, keeping
 * the pool's descriptors; a limit too small for the pool is an error.
 */
static bool
fit_fd_limit(void)
{
	struct rlimit rl;
	long		need = (long) settings.max_conns + settings.pool_size +
		(long) settings.scrape_workers * FDS_PER_SCRAPE + FD_RESERVE;
	long		have,
				left;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return true;
	if (rl.rlim_cur != RLIM_INFINITY && (long) rl.rlim_cur < need)
	{
		struct rlimit want = rl;

		want.rlim_cur = (rl.rlim_max == RLIM_INFINITY || (long) rl.rlim_max >= need) ? (rlim_t) need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur == RLIM_INFINITY || (long) rl.rlim_cur >= need)
		return true;
	have = (long) rl.rlim_cur;
	left = have - settings.pool_size - FD_RESERVE;
	if (left < 8)
	{
		fprintf(stderr, "profefe-collector: the file descriptor limit (%ld, ulimit -n) is too low for -db.pool %d: "
				"it needs at least %d\n", have, settings.pool_size, settings.pool_size + FD_RESERVE + 8);
		return false;
	}
	/* scrapes get at most a quarter of what is left, connections the rest */
	if (settings.scrape_workers > left / 4 / FDS_PER_SCRAPE)
		settings.scrape_workers = (int) (left / 4 / FDS_PER_SCRAPE);
	settings.max_conns = (int) (left - (long) settings.scrape_workers * FDS_PER_SCRAPE);
	/* one address keeps at most the same share of the slots as by default (256 of 1,000) */
	if (settings.max_conns_per_ip > settings.max_conns / 4)
		settings.max_conns_per_ip = settings.max_conns / 4 > 0 ? settings.max_conns / 4 : 1;
	log_msg(LOG_WARN, "file descriptor limit %ld (hard limit %ld) is below the %ld needed: serving at most "
			"%d connections (%d per address) and %d scrapes at once (-max-connections, "
			"-max-connections-per-ip, -scrape.workers)", have,
			rl.rlim_max == RLIM_INFINITY ? -1L : (long) rl.rlim_max, need, settings.max_conns,
			settings.max_conns_per_ip, settings.scrape_workers);
	return true;
}

int
main(int argc, char **argv)
{
	sigset_t	sigs;
	int64_t		next_retention;
	int64_t		next_rollup;
	int			sig = 0;

	parse_flags(argc, argv);
	if ((settings.tls_cert == NULL) != (settings.tls_key == NULL))
	{
		fprintf(stderr, "profefe-collector: -tls.cert and -tls.key go together\n");
		return 2;
	}
	if (settings.tls_cert)
	{
		char		err[512];

		if (!(settings.tls_cert_pem = read_pem(settings.tls_cert, err, sizeof(err))) ||
			!(settings.tls_key_pem = read_pem(settings.tls_key, err, sizeof(err))))
		{
			fprintf(stderr, "profefe-collector: %s\n", err);
			return 2;
		}
	}
	if (settings.auth_mode == AUTH_HEADER && settings.auth_header == NULL)
		settings.auth_header = "X-Scope-OrgID";
	if (settings.auth_mode != AUTH_HEADER && (settings.auth_header || settings.auth_trusted_proxies))
	{
		fprintf(stderr, "profefe-collector: -auth.header and -auth.trusted-proxies go with -auth header\n");
		return 2;
	}
	{
		char		err[512];

		if (!auth_init(err, sizeof(err)))
		{
			fprintf(stderr, "profefe-collector: %s\n", err);
			return 2;
		}
	}
	if (settings.scrape_file)
	{
		char		err[512];

		if (!scrape_file_load(settings.scrape_file, err, sizeof(err)))
		{
			fprintf(stderr, "profefe-collector: %s\n", err);
			return 2;
		}
	}
	if (!fit_fd_limit())
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* signals go to the main thread only: block them before threads start */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (!db_init())
	{
		log_msg(LOG_ERROR, "out of memory");
		return 1;
	}
	if (settings.writers > settings.pool_size)
		settings.writers = settings.pool_size;
	saver_init(settings.writers);
	if (!server_start())
		return 1;
	log_msg(LOG_INFO, "profefe-collector %s listening on %s%s (auth %s, db.pool %d, max-body %zu, timeout %dms)",
			COLLECTOR_VERSION, settings.tls_cert ? "https://" : "", settings.addr, auth_mode_name(settings.auth_mode),
			settings.pool_size, settings.max_body, settings.timeout_ms);
	if (settings.auth_mode == AUTH_NONE && !addr_is_loopback(settings.addr))
		log_msg(LOG_WARN, "-auth none on %s: anyone who reaches this address reads and writes every profile "
				"(listen on 127.0.0.1, or use -auth tokens)", settings.addr);

	/* connect once now so that a misconfiguration shows in the log at once */
	{
		DbError		err;
		DbConn	   *c = db_acquire(&err);

		if (c)
		{
			log_msg(LOG_INFO, "connected to database \"%s\"", PQdb(db_pg(c)));
			db_release(c);
		}
	}
	if (!scraper_start())
		log_msg(LOG_ERROR, "could not start the scraper threads");
	next_retention = settings.retention_s > 0 ? now_us() : INT64_MAX;
	next_rollup = settings.rollup_s > 0 ? now_us() : INT64_MAX;

	for (;;)
	{
		struct timespec ts = {1, 0};

		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (now_us() >= next_retention)
		{
			run_retention();
			next_retention = now_us() + (int64_t) settings.retention_s * 1000000;
		}
		if (now_us() >= next_rollup)
		{
			run_rollups();
			run_packing();
			next_rollup = now_us() + (int64_t) settings.rollup_s * 1000000;
		}
	}

	log_msg(LOG_INFO, "%s: finishing %d request(s) in progress", sig == SIGINT ? "SIGINT" : "SIGTERM",
			server_inflight());
	server_quiesce();
	scraper_stop();
	{
		int64_t		deadline = now_us() + (int64_t) settings.timeout_ms * 1000 + 1000000;

		while (server_inflight() > 0 && now_us() < deadline)
		{
			struct timespec pause = {0, 20 * 1000000};

			nanosleep(&pause, NULL);
		}
	}
	if (server_inflight() > 0)
	{
		/* stuck past every timeout: do not wait for them forever */
		log_msg(LOG_ERROR, "stopped with %d request(s) unfinished", server_inflight());
		_exit(1);
	}
	server_stop();
	db_shutdown();
	log_msg(LOG_INFO, "stopped");
	return 0;
}
