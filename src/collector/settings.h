/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The collector's settings, set from its flags (main.c).
 *
 * src/collector/settings.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_SETTINGS_H
#define PROFEFE_COLLECTOR_SETTINGS_H

#include <stddef.h>

#define COLLECTOR_VERSION "0.10.0"

typedef struct Settings
{
	const char *addr;			/* -addr, "host:port" or ":port" */
	const char *db;				/* -db, libpq connection string ("" = PG* env) */
	int			log_level;		/* LOG_DEBUG .. LOG_ERROR */
	size_t		max_body;		/* -max-body bytes */
	int			pool_size;		/* -db.pool connections */
	int			timeout_ms;		/* -timeout: per request (DB statement, client idle) */
	int			maintenance_timeout_ms; /* -maintenance-timeout: refresh, packing, retention statements */
	int			retention_s;	/* -retention-interval seconds, 0 = off */
	int			rollup_s;		/* -rollup-interval seconds, 0 = off */
	int			max_conns;		/* -max-connections */
	int			writers;		/* -db.writers: concurrent save batches */
	int			scrape_workers; /* -scrape.workers, 0 = no scraping */
	int			scrape_poll_ms; /* -scrape.poll */
	const char *scrape_file;	/* -scrape.file, or NULL */
	const char *tls_cert;		/* -tls.cert path (PEM, the chain), or NULL: plain HTTP */
	const char *tls_key;		/* -tls.key path (PEM) */
	char	   *tls_cert_pem;	/* their contents, read at start */
	char	   *tls_key_pem;
	int			auth_mode;		/* -auth: AuthMode (auth.h) */
	const char *auth_header;	/* -auth.header, the tenant header a proxy sets */
	const char *auth_trusted_proxies;	/* -auth.trusted-proxies, comma-separated addresses or CIDRs */
	int			auth_cache_ms;	/* -auth.cache: how long a verified token is trusted */
	int			max_conns_per_ip;	/* -max-connections-per-ip, 0 = no limit */
	int			header_timeout_ms;	/* -header-timeout: a request's headers must be in by then (0 = off) */
} Settings;

extern Settings settings;

#endif
