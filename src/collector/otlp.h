/*-------------------------------------------------------------------------
 *
 * otlp.h
 *	  POST /v1development/profiles, OTLP/HTTP profiles (otlp.c).
 *
 * src/collector/otlp.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_OTLP_H
#define PROFEFE_COLLECTOR_OTLP_H

#include "routes.h"

void		otlp_export(const Request *req, Reply *reply);

#endif
