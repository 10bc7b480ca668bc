/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Connection slots kept for clients that send requests: a connection
 *	  must finish a request's headers within -header-timeout of connecting
 *	  (or of its previous request's end), and when more than half of
 *	  -max-connections are waiting for headers, any waiting longer than a
 *	  second is cut. libmicrohttpd's own timeout is an idle timeout, reset
 *	  by every byte, so a client trickling a header a byte a second held a
 *	  slot (a thread) for ever: 1,200 of them locked every other client out
 *	  (slowloris). A well-behaved client sends its headers in one packet.
 *
 *	  Connections are tracked from libmicrohttpd's connection notifications;
 *	  a watchdog thread shuts a cut connection's socket down (its own thread
 *	  then sees the end of the stream and closes it). The tracker leaves the
 *	  list, under the same lock, in the CLOSED notification, which
 *	  libmicrohttpd makes before it closes the socket: the watchdog never
 *	  touches a descriptor that was reused.
 *
 * src/collector/guard.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "guard.h"
#include "metrics.h"
#include "settings.h"
#include "util.h"

#define WATCH_EVERY_MS 200
#define PRESSURE_AGE_US 1000000	/* waiting this long under pressure: cut */

typedef struct Tracker
{
	int			fd;
	bool		waiting;		/* for a request's headers */
	bool		cut;
	int64_t		since_us;		/* connected, or the previous request ended */
	struct Tracker *prev,
			   *next;
} Tracker;

static Tracker *head;
static int	nwaiting;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t watchdog;
static bool running;
static bool stop_flag;

static Tracker *
tracker_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? (Tracker *) ci->socket_context : NULL;
}

void
guard_connection(void *cls, struct MHD_Connection *con, void **socket_context,
				 enum MHD_ConnectionNotificationCode toe)
{
	Tracker    *t;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
	{
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (ci == NULL || (t = calloc(1, sizeof(Tracker))) == NULL)
			return;
		t->fd = ci->connect_fd;
		t->waiting = true;
		t->since_us = now_us();
		pthread_mutex_lock(&lock);
		t->next = head;
		if (head)
			head->prev = t;
		head = t;
		nwaiting++;
		pthread_mutex_unlock(&lock);
		*socket_context = t;
	}
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && (t = *socket_context) != NULL)
	{
		pthread_mutex_lock(&lock);
		if (t->prev)
			t->prev->next = t->next;
		else
			head = t->next;
		if (t->next)
			t->next->prev = t->prev;
		if (t->waiting)
			nwaiting--;
		pthread_mutex_unlock(&lock);
		free(t);
		*socket_context = NULL;
	}
}

/* A request's headers are in: the connection is doing work. */
void
guard_headers_done(struct MHD_Connection *con)
{
	Tracker    *t = tracker_of(con);

	if (t == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (t->waiting)
	{
		t->waiting = false;
		nwaiting--;
	}
	pthread_mutex_unlock(&lock);
}

/* A request ended: the connection waits for the next one's headers. */
void
guard_request_done(struct MHD_Connection *con)
{
	Tracker    *t = tracker_of(con);

	if (t == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (!t->waiting)
	{
		t->waiting = true;
		nwaiting++;
	}
	t->since_us = now_us();
	pthread_mutex_unlock(&lock);
}

static void *
watchdog_main(void *arg)
{
	struct timespec pause = {0, WATCH_EVERY_MS * 1000000L};

	while (!__atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST))
	{
		int64_t		now = now_us();
		int64_t		limit = (int64_t) settings.header_timeout_ms * 1000;
		long		cut = 0;

		pthread_mutex_lock(&lock);
		{
			bool		pressure = nwaiting > settings.max_conns / 2;

			for (Tracker *t = head; t; t = t->next)
			{
				int64_t		age = now - t->since_us;

				if (!t->waiting || t->cut || !(age > limit || (pressure && age > PRESSURE_AGE_US)))
					continue;
				shutdown(t->fd, SHUT_RDWR);
				t->cut = true;
				cut++;
			}
		}
		pthread_mutex_unlock(&lock);
		if (cut > 0)
			metrics_header_timeouts(cut);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

bool
guard_start(void)
{
	if (settings.header_timeout_ms <= 0)
		return true;
	running = pthread_create(&watchdog, NULL, watchdog_main, NULL) == 0;
	return running;
}

void
guard_stop(void)
{
	if (!running)
		return;
	__atomic_store_n(&stop_flag, true, __ATOMIC_SEQ_CST);
	pthread_join(watchdog, NULL);
	running = false;
}
