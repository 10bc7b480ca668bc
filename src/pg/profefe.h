/*-------------------------------------------------------------------------
 *
 * profefe.h
 *	  Server-side glue shared by the profefe extension's SQL functions.
 *
 * src/profefe.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_H
#define PROFEFE_H

#include "postgres.h"

#include "fmgr.h"

#include "engine/profile.h"

/* profefe.max_profile_size, in bytes */
extern int	profefe_max_profile_size;

/* The stored form (see pprof_codec.h), handled as opaque bytes. */
#define DatumGetPprofP(d)		((bytea *) PG_DETOAST_DATUM_PACKED(d))
#define PG_GETARG_PPROF_P(n)	DatumGetPprofP(PG_GETARG_DATUM(n))

/* A codec environment allocating in CurrentMemoryContext. */
extern void pprof_env_init(PprofEnv *env);

/* Raises the codec's error as an ERROR (22P03 or 54000). */
extern void pprof_report(const PprofError *err) pg_attribute_noreturn();

/* Decodes (and validates again) a stored pprof datum. */
extern void pprof_decode_datum(bytea *value, PprofProfile *out);

/*
 * Validates bytes received from a client (gzip or raw protobuf) and returns
 * the stored form.
 */
extern bytea *pprof_make_value(const uint8_t *data, size_t len);
extern bytea *pprof_make_value_summary(const uint8_t *data, size_t len, int64 *time_nanos,
									   int64 *n_sample);

/* The stored value as gzip-compressed protobuf, the form pprof tools read. */
extern bytea *pprof_to_gzip(bytea *value);

/* A profile string as text, made valid in the database encoding. */
extern text *pprof_string_to_text(PprofStr s);

/* Index of the named sample type (NULL = default); errors out if unknown. */
extern int	pprof_lookup_sample_type(const PprofProfile *p, const char *name);

#endif							/* PROFEFE_H */
