/*-------------------------------------------------------------------------
 *
 * pyroscope.h
 *	  POST /ingest, Pyroscope's ingest API (pyroscope.c).
 *
 * src/collector/pyroscope.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_PYROSCOPE_H
#define PROFEFE_COLLECTOR_PYROSCOPE_H

#include "routes.h"

void		pyroscope_ingest(const Request *req, Reply *reply);

#endif
