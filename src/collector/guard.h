/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  Connection slots kept for clients that send requests: the header
 *	  deadline and the cut under slot pressure (guard.c).
 *
 * src/collector/guard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_GUARD_H
#define PROFEFE_COLLECTOR_GUARD_H

#include <stdbool.h>

#include <microhttpd.h>

void		guard_connection(void *cls, struct MHD_Connection *con, void **socket_context,
							 enum MHD_ConnectionNotificationCode toe);
void		guard_headers_done(struct MHD_Connection *con);
void		guard_request_done(struct MHD_Connection *con);
bool		guard_start(void);
void		guard_stop(void);

#endif
