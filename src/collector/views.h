/*-------------------------------------------------------------------------
 *
 * views.h
 *	  JSON views of merged profiles and pickers for the UI and Grafana (views.c).
 *
 * src/collector/views.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_VIEWS_H
#define PROFEFE_COLLECTOR_VIEWS_H

#include <stdbool.h>

#include "routes.h"

void		view_flamegraph(const Request *req, Reply *reply);
void		view_top(const Request *req, Reply *reply);
void		view_labels(const Request *req, Reply *reply, bool values_of_key);
void		view_types(const Request *req, Reply *reply);

#endif
