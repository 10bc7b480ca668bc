/*-------------------------------------------------------------------------
 *
 * ui.h
 *	  The web UI's files, embedded in the collector at build time (ui.c).
 *
 * src/collector/ui.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_UI_H
#define PROFEFE_COLLECTOR_UI_H

#include "routes.h"

void		ui_serve(const Request *req, Reply *reply);

#endif
