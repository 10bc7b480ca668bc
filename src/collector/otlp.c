/*-------------------------------------------------------------------------
 *
 * otlp.c
 *	  POST /v1development/profiles: OTLP/HTTP profiles (opentelemetry-proto
 *	  v1.11.0), as the OpenTelemetry Collector's otlphttp exporter and the
 *	  eBPF profiler send them. A protobuf body (Content-Encoding: gzip
 *	  taken), converted by otlpconv.c into one pprof profile per service,
 *	  time and sample-type group, saved through the same group commit as
 *	  profefe's own POSTs.
 *
 *	  Replies as OTLP/HTTP says: 200 with an ExportProfilesServiceResponse
 *	  (partial_success counting the profiles refused, e.g. over a tenant's
 *	  label limit); errors with a google.rpc.Status body: 400 for a
 *	  malformed request (nothing stored), 413 for too large, 415 for JSON
 *	  (not taken yet), 503 when the database cannot take it (retry: each
 *	  profile's idempotency key is derived from the request's bytes, so a
 *	  retried request stores nothing twice).
 *
 * src/collector/otlp.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"
#include "otlp.h"
#include "otlp_profiles.pb-c.h"
#include "otlpconv.h"
#include "saver.h"
#include "settings.h"

/* google.rpc.Code for an HTTP status */
static int
rpc_code(int status)
{
	switch (status)
	{
		case 400:
		case 413:
		case 415:
			return 3;			/* INVALID_ARGUMENT */
		case 401:
			return 16;			/* UNAUTHENTICATED */
		case 403:
			return 7;			/* PERMISSION_DENIED */
		case 429:
			return 8;			/* RESOURCE_EXHAUSTED */
		case 503:
			return 14;			/* UNAVAILABLE */
		default:
			return 13;			/* INTERNAL */
	}
}

static void otlp_error(Reply *reply, int status, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static void
otlp_error(Reply *reply, int status, const char *fmt,...)
{
	Otlp__Status st = OTLP__STATUS__INIT;
	char		msg[1200];
	va_list		ap;
	size_t		n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st.code = rpc_code(status);
	st.message = msg;
	n = otlp__status__get_packed_size(&st);
	buf_free(&reply->body);
	if (n > 0 && (reply->body.data = malloc(n + 1)) != NULL)
	{
		reply->body.cap = n;
		reply->body.len = otlp__status__pack(&st, (uint8_t *) reply->body.data);
		reply->body.data[n] = '\0';
	}
	reply->status = status;
	reply->content_type = "application/x-protobuf";
	log_msg(LOG_DEBUG, "otlp: %d %s", status, msg);
}

/* the media type without parameters is one of OTLP's protobuf names */
static bool
media_is(const char *ct, const char *type)
{
	size_t		n = strlen(type);

	return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* 128 bits of the request's bytes, in hex: its profiles' idempotency keys */
static void
body_digest(const uint8_t *p, size_t n, char out[33])
{
	uint64_t	a = 0x6a09e667f3bcc908ULL ^ n,
				b = 0xbb67ae8584caa73bULL;

	for (size_t i = 0; i < n; i++)
	{
		a = (a ^ p[i]) * 0x100000001b3ULL;
		b = (b + p[i] + 1) * 0xff51afd7ed558ccdULL;
		b ^= b >> 29;
	}
	a ^= a >> 33;
	a *= 0xc4ceb9fe1a85ec53ULL;
	a ^= a >> 33;
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, a, b);
}

void
otlp_export(const Request *req, Reply *reply)
{
	Buf			plain = {0};
	const uint8_t *body = (const uint8_t *) req->body;
	size_t		len = req->body_len;
	OtlpResult	res;
	SaveItem   *items = NULL,
			  **ptrs = NULL;
	char		(*keys)[80] = NULL;
	char		err[512],
				digest[33];
	int			stored = 0,
				rejected = 0,
				unavailable = -1;
	char		first_reject[1300] = "";

	if (media_is(req->content_type, "application/json"))
	{
		otlp_error(reply, 415, "OTLP/JSON is not taken yet: send Content-Type: application/x-protobuf");
		return;
	}
	if (!media_is(req->content_type, "application/x-protobuf") && !media_is(req->content_type, "application/protobuf"))
	{
		otlp_error(reply, 415, "Content-Type %s is not OTLP/HTTP: send application/x-protobuf",
				   req->content_type ? req->content_type : "(none)");
		return;
	}
	if (req->content_encoding && strcasecmp(req->content_encoding, "identity") != 0)
	{
		int			rc;

		if (strcasecmp(req->content_encoding, "gzip") != 0)
		{
			otlp_error(reply, 415, "Content-Encoding %s is not taken: gzip or none", req->content_encoding);
			return;
		}
		rc = gunzip_buf(req->body, req->body_len, settings.max_body, &plain);
		if (rc == -2)
		{
			otlp_error(reply, 413, "request body is larger than %zu bytes uncompressed (-max-body)", settings.max_body);
			return;
		}
		if (rc != 0)
		{
			otlp_error(reply, rc == -3 ? 500 : 400, rc == -3 ? "out of memory" :
					   "Content-Encoding: gzip, but the body is not gzip or is cut short");
			return;
		}
		body = (const uint8_t *) plain.data;
		len = plain.len;
	}

	if (!otlp_convert(body, len, &res, err, sizeof(err)))
	{
		otlp_error(reply, strncmp(err, "out of memory", 13) == 0 ? 500 : 400, "malformed OTLP profiles: %s", err);
		buf_free(&plain);
		return;
	}
	body_digest(body, len, digest);

	if (res.nout > 0)
	{
		items = calloc(res.nout, sizeof(SaveItem));
		ptrs = calloc(res.nout, sizeof(SaveItem *));
		keys = calloc(res.nout, sizeof(*keys));
		if (items == NULL || ptrs == NULL || keys == NULL)
		{
			otlp_error(reply, 500, "out of memory");
			goto out;
		}
	}
	{
		int			n = 0;

		for (int i = 0; i < res.nout; i++)
		{
			OtlpOut    *o = &res.out[i];

			if (o->pprof.len > settings.max_body)
			{
				rejected += o->nprofiles;
				if (!first_reject[0])
					snprintf(first_reject, sizeof(first_reject), "the %s profile of service %.100s is %zu bytes "
							 "as pprof, over -max-body", o->type, o->service, o->pprof.len);
				continue;
			}
			snprintf(keys[i], sizeof(keys[i]), "otlp-%s-%d", digest, i);
			items[i].service = o->service;
			items[i].type = o->type;
			items[i].labels_json = o->labels_json.data;
			items[i].data = o->pprof.data;
			items[i].len = o->pprof.len;
			items[i].tenant = req->tenant;
			items[i].key = keys[i];
			ptrs[n++] = &items[i];
		}
		saver_submit_all(ptrs, n);
		for (int i = 0; i < n; i++)
		{
			SaveItem   *it = ptrs[i];
			OtlpOut    *o = &res.out[it - items];

			if (it->status == 200)
			{
				stored++;
				if (!it->replayed)
					metrics_ingested(o->type, o->pprof.len);
			}
			else if (it->status >= 500 || it->status == 429)
				unavailable = (int) (it - items);
			else
			{
				rejected += o->nprofiles;
				if (!first_reject[0])
					snprintf(first_reject, sizeof(first_reject), "the %s profile of service %.100s: %s",
							 o->type, o->service, it->err.message);
			}
		}
	}

	if (unavailable >= 0)
	{
		const DbError *e = &items[unavailable].err;

		/* some may be stored: the same request again stores each once (idempotency keys) */
		otlp_error(reply, e->status == 429 ? 429 : 503, "%s", e->message);
		goto out;
	}
	if (stored == 0 && rejected > 0)
	{
		otlp_error(reply, 400, "%s", first_reject);
		goto out;
	}
	{
		Otlp__ExportProfilesServiceResponse r = OTLP__EXPORT_PROFILES_SERVICE_RESPONSE__INIT;
		Otlp__ExportProfilesPartialSuccess ps = OTLP__EXPORT_PROFILES_PARTIAL_SUCCESS__INIT;
		size_t		n;

		if (rejected > 0)
		{
			ps.rejected_profiles = rejected;
			ps.error_message = first_reject;
			r.partial_success = &ps;
		}
		n = otlp__export_profiles_service_response__get_packed_size(&r);
		buf_free(&reply->body);
		if ((reply->body.data = malloc(n + 1)) == NULL)
		{
			otlp_error(reply, 500, "out of memory");
			goto out;
		}
		reply->body.cap = n;
		reply->body.len = otlp__export_profiles_service_response__pack(&r, (uint8_t *) reply->body.data);
		reply->body.data[n] = '\0';
		reply->status = 200;
		reply->content_type = "application/x-protobuf";
	}
out:
	free(items);
	free(ptrs);
	free(keys);
	otlp_result_free(&res);
	buf_free(&plain);
}
