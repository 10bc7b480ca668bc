/*-------------------------------------------------------------------------
 *
 * pprof_ops.c
 *	  Whole-profile operations built on the merger: pprof_scale and
 *	  pprof_diff.
 *
 * src/pprof_ops.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pprof_merge.h"
#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_scale);
PG_FUNCTION_INFO_V1(pprof_diff);

#define OPS_ZSTD_LEVEL 3

static void
add_or_error(PprofMerger *m, PprofEnv *env, bytea *value, double ratio, bool diff_base)
{
	PprofProfile prof;
	PprofError	err;
	PprofStatus st;

	pprof_decode_datum(value, &prof);
	st = pprof_merger_add_scaled(m, env, &prof, ratio, diff_base, &err);
	if (st == PPROF_OVERFLOW)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("scaled profile values are out of range for type bigint"),
				 errdetail("%s", err.detail)));
	if (st != PPROF_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot compare profiles of different types"),
				 errdetail("%s", err.detail)));
}

/* Encodes the merger into a new stored pprof value in the caller's context. */
static bytea *
finish(PprofMerger *m, MemoryContext caller)
{
	PprofEnv	env;
	PprofError	err;
	uint8_t    *raw,
			   *stored;
	size_t		len,
				stored_len;
	bytea	   *result;

	pprof_env_init(&env);
	if (pprof_merger_encode(m, &env, 1, &raw, &len, &err) != PPROF_OK ||
		pprof_store_pack(&env, raw, len, OPS_ZSTD_LEVEL, &stored, &stored_len, &err) != PPROF_OK)
		pprof_report(&err);
	result = MemoryContextAlloc(caller, VARHDRSZ + stored_len);
	SET_VARSIZE(result, VARHDRSZ + stored_len);
	memcpy(VARDATA(result), stored, stored_len);
	return result;
}

/*
 * pprof_scale(p, factor): every value times factor, rounded as pprof's
 * Scale does; samples left all zero are dropped. The result is compacted.
 */
Datum
pprof_scale(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_PPROF_P(0);
	double		factor = PG_GETARG_FLOAT8(1);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tmp;
	PprofEnv	env;
	PprofMerger *m;
	bytea	   *result;

	if (isnan(factor) || isinf(factor))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scale factor must be a finite number"),
				 errdetail("The factor given is %g.", factor)));
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof_scale", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tmp);
	pprof_env_init(&env);
	m = pprof_merger_create(&env);
	add_or_error(m, &env, p, factor, false);
	result = finish(m, caller);
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(tmp);
	PG_RETURN_BYTEA_P(result);
}

/*
 * pprof_diff(p, base): `go tool pprof -diff_base base p` as a profile: the
 * base negated, its samples labelled pprof::base=true, merged with p.
 */
Datum
pprof_diff(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_PPROF_P(0);
	bytea	   *base = PG_GETARG_PPROF_P(1);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tmp;
	PprofEnv	env;
	PprofMerger *m;
	bytea	   *result;

	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof_diff", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tmp);
	pprof_env_init(&env);
	m = pprof_merger_create(&env);
	add_or_error(m, &env, p, 1.0, false);
	add_or_error(m, &env, base, -1.0, true);
	result = finish(m, caller);
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(tmp);
	PG_RETURN_BYTEA_P(result);
}
