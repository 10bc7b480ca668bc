/*-------------------------------------------------------------------------
 *
 * server.c
 *	  The libmicrohttpd side: one thread per connection (handlers block on
 *	  PostgreSQL, and a slow client holds only its own thread), bodies
 *	  gathered up to -max-body, the raw request URI kept so that the query
 *	  string is parsed with Go's rules (params.c), replies queued, requests
 *	  counted for a draining shutdown.
 *
 * src/collector/server.c
 *
 *-------------------------------------------------------------------------
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "guard.h"
#include "metrics.h"
#include "params.h"
#include "routes.h"
#include "server.h"
#include "settings.h"
#include "util.h"

#define DISCARD_MAX ((size_t) 64 * 1024 * 1024)

typedef struct ReqState
{
	char	   *raw_uri;
	char	   *path;			/* percent-decoded, no trailing '/'; NULL if malformed */
	bool		started;
	bool		too_large;		/* body past -max-body: being discarded */
	size_t		discarded;
	bool		answered;
	Route		route;
	Buf			body;
	int64_t		t0;
	bool		gzip_ok;		/* the client takes Content-Encoding: gzip */
	size_t		limit;			/* the body cap: -max-body, or the tenant's when lower */
	Principal	who;			/* the caller (auth.c) */
	AuthRefusal refused;		/* status 0, or why the request is refused (its body is discarded) */
} ReqState;

static struct MHD_Daemon *daemon_;
static int	inflight;

int
server_inflight(void)
{
	return __atomic_load_n(&inflight, __ATOMIC_SEQ_CST);
}

/* Called first for every request: keeps the URI exactly as sent. */
static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	ReqState   *st = calloc(1, sizeof(ReqState));

	if (st == NULL)
		return NULL;
	st->raw_uri = strdup(uri ? uri : "/");
	st->t0 = now_us();
	__atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
	return st;
}

static void
completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	ReqState   *st = *con_cls;

	if (st == NULL)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && toe != MHD_REQUEST_TERMINATED_CLIENT_ABORT)
		log_msg(LOG_DEBUG, "request ended early (%d): %s", (int) toe, st->raw_uri);
	guard_request_done(con);
	buf_free(&st->body);
	free(st->path);
	free(st->raw_uri);
	free(st);
	*con_cls = NULL;
	__atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
}

static enum MHD_Result
send_reply(struct MHD_Connection *con, ReqState *st, const char *method, Reply *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	double		secs;
	size_t		body_len;
	bool		compressible,
				gzipped = false;

	if (reply->status >= 500)
		log_msg(reply->status == 503 ? LOG_WARN : LOG_ERROR, "%s %s %d: %.*s", method, st->raw_uri,
				reply->status, (int) (reply->body.len > 300 ? 300 : reply->body.len),
				reply->body.data ? reply->body.data : "");

	/*
	 * Text (JSON views, the UI's files) goes gzip to clients that take it:
	 * a large flame graph is tens of MB of JSON, a tenth of that compressed.
	 * Profiles are gzip already and go as they are.
	 */
	compressible = reply->status == 200 && reply->content_type &&
		(strncmp(reply->content_type, "application/json", 16) == 0 || strncmp(reply->content_type, "text/", 5) == 0);
	if (compressible && st && st->gzip_ok)
	{
		const void *data = reply->static_data ? reply->static_data : reply->body.data;
		size_t		len = reply->static_data ? reply->static_len : reply->body.len;
		Buf			z = {0};

		if (len >= 1024 && gzip_buf(data, len, reply->static_data ? 6 : 1, &z))
		{
			buf_free(&reply->body);
			reply->body = z;
			reply->static_data = NULL;
			gzipped = true;
		}
	}
	/* the body's buffer passes to libmicrohttpd, which frees it: no copy */
	if (reply->static_data && reply->status == 200)
	{
		buf_free(&reply->body);
		resp = MHD_create_response_from_buffer(reply->static_len, (void *) reply->static_data,
											   MHD_RESPMEM_PERSISTENT);
	}
	else if (reply->body.data)
		resp = MHD_create_response_from_buffer(reply->body.len, reply->body.data, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
	{
		buf_free(&reply->body);
		return MHD_NO;
	}
	body_len = reply->static_data && reply->status == 200 ? reply->static_len : reply->body.len;
	reply->body.data = NULL;	/* owned by the response now */
	reply->body.len = reply->body.cap = 0;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
	if (reply->disposition[0])
		MHD_add_response_header(resp, "Content-Disposition", reply->disposition);
	if (reply->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
	if (reply->text_errors && reply->status != 200)
		MHD_add_response_header(resp, "X-Go-Pprof", "1");
	if (reply->cors)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
	if (reply->cache_control)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, reply->cache_control);
	if (reply->csp)
		MHD_add_response_header(resp, "Content-Security-Policy", reply->csp);
	if (reply->www_authenticate)
	{
		/* Basic makes browsers ask (the UI); Bearer is what API clients send */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"profefe\", charset=\"UTF-8\"");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"profefe\"");
	}
	if (reply->replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	if (reply->retry_after > 0)
	{
		char		ra[16];

		snprintf(ra, sizeof(ra), "%d", reply->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (compressible)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (gzipped)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(con, (unsigned int) reply->status, resp);
	MHD_destroy_response(resp);
	st->answered = true;
	secs = (now_us() - st->t0) / 1e6;
	metrics_request(st ? st->route : ROUTE_OTHER, reply->status, secs);
	/* one line per request, as profefe's collector logs them (-log.level warn for none) */
	if (settings.log_level <= LOG_INFO && reply->status < 500)
		log_msg(LOG_INFO, "%s %s %d in=%zu out=%zu %.1fms tenant=%s%s%s", method, st->raw_uri, reply->status,
				st->too_large ? st->discarded : st->body.len, body_len, secs * 1000,
				st->who.tenant[0] ? st->who.tenant : "-", st->who.token_id[0] ? " token=" : "", st->who.token_id);
	return ret;
}

/* A body past the cap: refused with 413 (its bytes are dropped). */
static void
set_too_large(ReqState *st)
{
	st->refused.status = 413;
	st->refused.retry_after = 0;
	if (st->limit < settings.max_body)
		snprintf(st->refused.message, sizeof(st->refused.message),
				 "request body is larger than tenant \"%s\" accepts (%zu bytes, tenant_limits.max_body)",
				 st->who.tenant, st->limit);
	else
		snprintf(st->refused.message, sizeof(st->refused.message),
				 "request body is larger than -max-body (%zu bytes)", settings.max_body);
}

/* The reply to a refused request (auth.c's refusal). */
static void
reply_refusal(Reply *reply, Route route, const AuthRefusal *no)
{
	reply->text_errors = route_text_errors(route);
	reply_error(reply, no->status, "%s", no->message);
	reply->www_authenticate = no->status == 401;
	reply->retry_after = no->status == 429 ? no->retry_after : 0;
}

/*
 * Who the caller is and whether it may do this, from the headers alone (a
 * refused request's body is never kept): st->refused set when not.
 */
static void
check_caller(struct MHD_Connection *con, ReqState *st)
{
	const char *authz = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *tenant_header = settings.auth_header ?
		MHD_lookup_connection_value(con, MHD_HEADER_KIND, settings.auth_header) : NULL;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	unsigned	need = route_rights(st->route);

	st->limit = settings.max_body;
	if (need == 0)
		return;
	if (!auth_identify(authz, tenant_header, ci ? ci->client_addr : NULL, &st->who, &st->refused) ||
		!auth_permits(&st->who, need, &st->refused))
		return;
	/* /metrics covers every tenant (scrape targets by name): the operator's, the default tenant's admins */
	if (st->route == ROUTE_METRICS && strcmp(st->who.tenant, "default") != 0)
	{
		st->refused.status = 403;
		snprintf(st->refused.message, sizeof(st->refused.message),
				 "forbidden: /metrics is for the default tenant's admin tokens (it covers every tenant)");
		return;
	}
	if (st->who.max_body > 0 && st->who.max_body < st->limit)
		st->limit = st->who.max_body;
	if ((need & RIGHT_WRITE) && !auth_take_ingest(&st->who, &st->refused))
		return;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *con, const char *url, const char *method,
			   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	ReqState   *st = *con_cls;
	Reply		reply = {0};
	Request		req = {0};
	char		err[256];
	char	   *q;
	enum MHD_Result ret;

	if (st == NULL)
		return MHD_NO;			/* out of memory: drop the connection */
	if (st->answered)
	{
		/* an early reply (413) was queued; swallow what is still coming */
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (!st->started)
	{
		const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		char	   *path_end = strchr(st->raw_uri, '?');
		size_t		plen = path_end ? (size_t) (path_end - st->raw_uri) : strlen(st->raw_uri);

		const char *ae = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);

		st->started = true;
		guard_headers_done(con);
		st->gzip_ok = ae && strcasestr(ae, "gzip") && !strcasestr(ae, "gzip;q=0");
		if (url_unescape(st->raw_uri, plen, false, &st->path) && strlen(st->path) > 1 &&
			st->path[strlen(st->path) - 1] == '/')
			st->path[strlen(st->path) - 1] = '\0';
		st->route = st->path ? route_of(method, st->path) : ROUTE_OTHER;
		check_caller(con, st);
		if (st->refused.status == 0 && cl && strtoull(cl, NULL, 10) > st->limit)
			set_too_large(st);
		if (st->refused.status != 0)
		{
			const char *expect = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

			/* a client waiting for "100 Continue" (or sending nothing) gets the refusal at once */
			if ((expect && strcasecmp(expect, "100-continue") == 0) || cl == NULL || strcmp(cl, "0") == 0)
			{
				reply_refusal(&reply, st->route, &st->refused);
				return send_reply(con, st, method, &reply);
			}
			st->too_large = true;	/* the body is read and dropped */
		}
		return MHD_YES;
	}

	if (*upload_data_size > 0)
	{
		/*
		 * Past the cap the body is read and dropped, so that a client that
		 * sends it all still reads the 413; one that sends far more is cut
		 * off with it.
		 */
		if (!st->too_large && st->body.len + *upload_data_size > st->limit)
		{
			set_too_large(st);
			st->too_large = true;
			st->discarded = st->body.len;
			buf_free(&st->body);
		}
		if (st->too_large)
		{
			st->discarded += *upload_data_size;
			*upload_data_size = 0;
			/* a body past the cap is read on for a while (so that the client reads the 413); a refused caller's is not */
			if (st->discarded > (st->refused.status == 413 ? st->limit + DISCARD_MAX : (size_t) 1024 * 1024))
			{
				reply_refusal(&reply, st->route, &st->refused);
				return send_reply(con, st, method, &reply);
			}
			return MHD_YES;
		}
		buf_append(&st->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (st->too_large)
	{
		reply_refusal(&reply, st->route, &st->refused);
		return send_reply(con, st, method, &reply);
	}

	/* the whole request is in */
	req.method = method;
	req.path = st->path ? st->path : "/";
	reply.text_errors = route_text_errors(st->route);
	q = strchr(st->raw_uri, '?');
	if (st->path == NULL)
		reply_error(&reply, 400, "bad request: invalid escape in path");
	else if (st->body.failed)
		reply_error(&reply, 500, "out of memory reading the request body");
	else if (reply.status == 0 && !query_parse(q ? q + 1 : "", &req.query, err, sizeof(err)))
		reply_error(&reply, 400, "%s", err);
	else if (reply.status == 0)
	{
		req.body = st->body.data;
		req.body_len = st->body.len;
		req.tenant = st->who.tenant[0] ? st->who.tenant : NULL;
		req.idempotency_key = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Idempotency-Key");
		req.content_type = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
		req.content_encoding = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Encoding");
		req.rights = st->who.rights;
		handle_request(st->route, &req, &reply);
	}
	if (reply.status == 0)
		reply_error(&reply, 500, "no reply");
	ret = send_reply(con, st, method, &reply);
	query_free(&req.query);
	return ret;
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char		msg[512];
	size_t		n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_msg(LOG_DEBUG, "http: %s", msg);
}

bool
server_start(void)
{
	const char *colon = strrchr(settings.addr, ':');
	char		host[256] = "";
	const char *port;
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct addrinfo hints = {0},
			   *ai = NULL;
	unsigned int timeout_s = (unsigned int) ((settings.timeout_ms + 999) / 1000);
	long		portnum;

	if (colon == NULL)
	{
		log_msg(LOG_ERROR, "invalid -addr \"%s\": want host:port or :port", settings.addr);
		return false;
	}
	port = colon + 1;
	portnum = strtol(port, NULL, 10);
	if (portnum < 0 || portnum > 65535 || port[0] == '\0')
	{
		log_msg(LOG_ERROR, "invalid port in -addr \"%s\"", settings.addr);
		return false;
	}
	snprintf(host, sizeof(host), "%.*s", (int) (colon - settings.addr), settings.addr);
	if (host[0] == '[' && host[strlen(host) - 1] == ']')
	{
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (host[0] != '\0')
	{
		int			rc;

		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		{
			log_msg(LOG_ERROR, "cannot resolve -addr \"%s\": %s", settings.addr, gai_strerror(rc));
			return false;
		}
		if (ai->ai_family == AF_INET6)
			flags |= MHD_USE_IPv6;
	}
	/* HTTPS (libmicrohttpd's GnuTLS) with the certificate and key read at start */
	struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};

	if (settings.tls_cert_pem)
	{
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		{
			log_msg(LOG_ERROR, "this libmicrohttpd has no TLS: -tls.cert cannot be served");
			if (ai)
				freeaddrinfo(ai);
			return false;
		}
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_CERT, 0, settings.tls_cert_pem};
		tls[1] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_KEY, 0, settings.tls_key_pem};
		tls[2] = (struct MHD_OptionItem) {MHD_OPTION_END, 0, NULL};
	}
	for (int attempt = 0; attempt < 2 && daemon_ == NULL; attempt++)
	{
		unsigned int f = flags;

		/* ":port" listens on every address, IPv6 and IPv4, else IPv4 only */
		if (host[0] == '\0' && attempt == 0)
			f |= MHD_USE_DUAL_STACK;
		daemon_ = MHD_start_daemon(f, (uint16_t) portnum, NULL, NULL, access_handler, NULL,
								   MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
								   MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
								   MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
								   MHD_OPTION_NOTIFY_CONNECTION, guard_connection, NULL,
								   MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
								   MHD_OPTION_CONNECTION_LIMIT, (unsigned int) settings.max_conns,
								   MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) settings.max_conns_per_ip,
								   /* request line, headers and read buffer; libmicrohttpd zeroes it
								    * between the requests of a connection (256 KB cost 5% of the
								    * machine at 2,000 POSTs/s); longer request lines get 414 */
								   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 64 * 1024,
								   MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U,
								   MHD_OPTION_ARRAY, tls,
								   ai ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, ai ? ai->ai_addr : NULL,
								   MHD_OPTION_END);
		if (host[0] != '\0')
			break;
	}
	if (ai)
		freeaddrinfo(ai);
	if (daemon_ == NULL)
	{
		log_msg(LOG_ERROR, "cannot listen on %s (address in use, or not allowed%s?)", settings.addr,
				settings.tls_cert_pem ? ", or a certificate and key that do not go together" : "");
		return false;
	}
	if (!guard_start())
		log_msg(LOG_ERROR, "could not start the header watchdog");
	return true;
}

/* Stops accepting connections; requests in progress go on. */
void
server_quiesce(void)
{
	MHD_socket	s = MHD_quiesce_daemon(daemon_);

	if (s != MHD_INVALID_SOCKET)
		close(s);
}

void
server_stop(void)
{
	guard_stop();
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
