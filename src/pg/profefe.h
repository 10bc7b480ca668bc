/*-------------------------------------------------------------------------
 *
 * profefe.h
 *	  What the extension's SQL-facing files share: the engine's environment
 *	  inside the server, error reporting, and the conversions between
 *	  pprof datums, decoded profiles and SQL values (pg_env.c).
 *
 * Files under src/pg/ are fmgr glue: each starts with compat.h (and so
 * postgres.h) and turns SQL arguments into engine calls and engine results
 * into SQL values. pprof semantics live in the engine (src/engine/).
 *
 * src/pg/profefe.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_H
#define PROFEFE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

#include "engine/profile.h"

/* profefe.max_profile_size, in bytes: the cap on what clients send (module.c) */
extern int	profefe_max_profile_size;

/* profefe.retention*, profefe.rollup_delay, profefe.use_rollups: read in SQL (module.c) */
extern char *profefe_retention;
extern char *profefe_retention_hourly;
extern char *profefe_retention_daily;
extern char *profefe_rollup_delay;
extern bool profefe_use_rollups;

/* profefe.pack_level: the zstd level of packs (module.c; pprof_pack, pack.c) */
extern int	profefe_pack_level;
/* profefe.pack_split (0.9.1): streams split by field where it pays (module.c; pprof_pack) */
extern bool profefe_pack_split;

/* profefe.tenant (module.c; current_tenant() reads it, tenant.c) */
extern char *profefe_tenant_setting;

/*
 * What a stored value may decode to: values were checked against
 * profefe.max_profile_size when they came in, so reading them needs only a
 * sanity bound, and lowering the setting never makes stored profiles
 * unreadable.
 */
#define PROFEFE_MAX_DECODED ((size_t) MaxAllocSize - 1)

/* gzip level of profiles handed out: fast, as Go's runtime/pprof writes them */
#define PROFEFE_GZIP_LEVEL 1

/* The stored form (engine/store.h), handled as opaque bytes. */
#define DatumGetPprofP(d)		((bytea *) PG_DETOAST_DATUM_PACKED(d))
#define PG_GETARG_PPROF_P(n)	DatumGetPprofP(PG_GETARG_DATUM(n))

/*
 * An engine environment allocating in CurrentMemoryContext, checking for
 * interrupts, failing with ereport, with the backend's zstd contexts and
 * max_size PROFEFE_MAX_DECODED.
 */
extern void pprof_env_init(PprofEnv *env);

/* Raises an engine error as an ERROR with the status's SQLSTATE. */
extern void pprof_report(const PprofError *err) pg_attribute_noreturn();

/* Decodes (and validates again) a stored pprof datum. */
extern void pprof_decode_datum(bytea *value, PprofProfile *out);

/*
 * Validates bytes received from a client (gzip or raw protobuf, at most
 * profefe.max_profile_size decompressed) and returns the stored form; with
 * non-NULL out arguments also its time_nanos and sample count.
 */
extern bytea *pprof_make_value(const uint8_t *data, size_t len);
extern bytea *pprof_make_value_summary(const uint8_t *data, size_t len, int64 *time_nanos,
									   int64 *n_sample);

/* What the store keeps beside a profile (pprof_make_value_facts). */
typedef struct ProfileFacts
{
	int64		time_nanos;
	int64		n_sample;
	Datum		sample_types;	/* text[] of the sample type names */
	Datum		totals;			/* bigint[] per sample type, NULL where a sum overflows */
	int			default_type;	/* pprof's default sample type, 1-based; 0 = none */
	int64		max_depth;		/* the most locations a sample's stack has */
} ProfileFacts;

extern bytea *pprof_make_value_facts(const uint8_t *data, size_t len, ProfileFacts *facts, bool totals);

/* A new 20-character profile id sorting by ts (store.c). */
extern text *profefe_make_id(TimestampTz ts);
extern void pprof_totals_datums(const PprofProfile *p, ProfileFacts *facts);

/* Packs raw protobuf the engine produced into a new stored value. */
extern bytea *pprof_pack_value(const uint8_t *raw, size_t len);

/* The stored value as gzip-compressed protobuf, the form pprof tools read. */
extern bytea *pprof_to_gzip(bytea *value);

/* A profile string as text, made valid in the database encoding. */
extern text *pprof_string_to_text(PprofStr s);

/* time_nanos as a timestamptz (floor to microseconds, like Go's time.Unix). */
extern TimestampTz pprof_nanos_to_timestamptz(int64 ns);

/* Index of the named sample type (NULL = default); errors out if unknown. */
extern int	pprof_lookup_sample_type(const PprofProfile *p, const char *name);

#endif							/* PROFEFE_H */
