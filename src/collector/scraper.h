/*-------------------------------------------------------------------------
 *
 * scraper.h
 *	  Scraping net/http/pprof targets (scraper.c).
 *
 * src/collector/scraper.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_SCRAPER_H
#define PROFEFE_COLLECTOR_SCRAPER_H

#include <stdbool.h>
#include <stddef.h>

bool		scrape_file_load(const char *path, char *err, size_t errlen);
bool		scraper_start(void);
void		scraper_stop(void);

#endif
