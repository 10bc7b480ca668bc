/*-------------------------------------------------------------------------
 *
 * otlpconv.h
 *	  OTLP profiles (ExportProfilesServiceRequest, opentelemetry-proto
 *	  v1.11.0's profiles/v1development) to pprof profiles, one per service,
 *	  time and sample-type group (otlpconv.c). No HTTP and no database here:
 *	  otlp.c serves the route, fuzz/fuzz_otlp.c feeds this bytes.
 *
 * src/collector/otlpconv.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_OTLPCONV_H
#define PROFEFE_COLLECTOR_OTLPCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Nesting deeper than this (AnyValue in AnyValue ...) is refused before unpacking. */
#define OTLP_MAX_DEPTH 32

/* One profile to store: a pprof profile (uncompressed protobuf) and where it goes. */
typedef struct OtlpOut
{
	char	   *service;
	const char *type;			/* one of profefe's profile types */
	Buf			labels_json;	/* a JSON object of strings */
	Buf			pprof;
	int64_t		time_nanos;		/* the profile's time; 0: none given */
	int			nprofiles;		/* the request's profiles that went into it */
} OtlpOut;

typedef struct OtlpResult
{
	OtlpOut    *out;
	int			nout;
	size_t		cap;
	int			nprofiles;		/* profiles in the request */
	int			nempty;			/* of them, without samples: nothing to store */
} OtlpResult;

/*
 * Converts an ExportProfilesServiceRequest (protobuf, uncompressed). False
 * when the request is malformed (not protobuf, an index out of range, a
 * dictionary whose entry 0 is not the zero value, a sample without values,
 * a value out of range, ...): err says what and where, res is empty.
 */
extern bool otlp_convert(const uint8_t *data, size_t len, OtlpResult *res, char *err, size_t errlen);
extern void otlp_result_free(OtlpResult *res);

#endif
