/*-------------------------------------------------------------------------
 *
 * metrics.h
 *	  Prometheus metrics of requests, ingest, the database and scraping (metrics.c).
 *
 * src/collector/metrics.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_METRICS_H
#define PROFEFE_COLLECTOR_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "routes.h"
#include "util.h"

void		metrics_request(Route r, int status, double seconds);
void		metrics_ingested(const char *type, size_t bytes);
void		metrics_db(double seconds, bool failed);
void		metrics_auth(bool cached);
void		metrics_db_stall(void);
void		metrics_header_timeouts(long n);
void		metrics_batch(int items);
void		metrics_render(Buf *b);

typedef enum RefreshResult
{
	REFRESH_OK, REFRESH_BUSY, REFRESH_FAILED
} RefreshResult;

void		metrics_retention(bool ok);
void		metrics_refresh(RefreshResult result, long long written, double seconds);
/* a call of profefe.pack_profiles() (0.9.0): its result (RefreshResult's) and the profiles it packed */
void		metrics_pack(RefreshResult result, long long packed);
void		metrics_scrape_start(double late_seconds);
void		metrics_scrape_done(long long target_id, const char *service, const char *instance, bool ok,
								double seconds);

#endif
