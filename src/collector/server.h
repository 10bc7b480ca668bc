/*-------------------------------------------------------------------------
 *
 * server.h
 *	  The HTTP server: libmicrohttpd, one thread per connection (server.c).
 *
 * src/collector/server.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_SERVER_H
#define PROFEFE_COLLECTOR_SERVER_H

#include <stdbool.h>

bool		server_start(void);
void		server_quiesce(void);
int			server_inflight(void);
void		server_stop(void);

#endif
