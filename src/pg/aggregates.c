/*-------------------------------------------------------------------------
 *
 * pprof_agg.c
 *	  The pprof_merge and pprof_avg aggregates: transition, combine,
 *	  serialize, deserialize and final functions around the engine's merger
 *	  (engine/merge.h).
 *
 * The state is a PprofMerger living in its own memory context under the
 * aggregate context; each input is decoded in a scratch context that is
 * reset after the row, so memory grows with the distinct stacks, not with
 * the number of rows. Partial states travel between parallel workers as
 * an 8-byte profile count followed by the merged profile's protobuf
 * (uncompressed: the bytes only go from a worker to the leader), and are
 * decoded (and validated) once, when the leader combines them.
 *
 * src/pg/aggregates.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "engine/merge.h"
#include "engine/store.h"
#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_merge_trans);
PG_FUNCTION_INFO_V1(pprof_merge_combine);
PG_FUNCTION_INFO_V1(pprof_merge_serial);
PG_FUNCTION_INFO_V1(pprof_merge_deserial);
PG_FUNCTION_INFO_V1(pprof_merge_final);
PG_FUNCTION_INFO_V1(pprof_avg_final);

typedef struct MergeState
{
	MemoryContext cxt;			/* holds the merger */
	MemoryContext scratch;		/* per-input decoding, reset after each */
	PprofMerger *merger;

	/*
	 * A deserialized state keeps the worker's bytes undecoded until it is
	 * combined: combine then decodes them once, straight into the left
	 * state, instead of decoding into a state of their own first.
	 */
	uint8_t    *pending;
	size_t		pending_len;
	uint64		pending_count;
} MergeState;

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fn);
	return aggcxt;
}

static MergeState *
state_create(MemoryContext aggcxt)
{
	MergeState *st = MemoryContextAllocZero(aggcxt, sizeof(MergeState));
	MemoryContext old;
	PprofEnv	env;

	st->cxt = AllocSetContextCreate(aggcxt, "pprof_merge state", ALLOCSET_DEFAULT_SIZES);
	st->scratch = AllocSetContextCreate(aggcxt, "pprof_merge input", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(st->cxt);
	pprof_env_init(&env);
	st->merger = pprof_merger_create(&env);
	MemoryContextSwitchTo(old);
	return st;
}

static void
report_merge_error(const PprofError *err)
{
	if (err->status != PPROF_INCOMPATIBLE)
		pprof_report(err);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("cannot merge profiles of different types"),
			 errdetail("%s", err->detail),
			 errhint("Merge profiles of one type at a time, e.g. GROUP BY type.")));
}

/* Adds decoded raw protobuf bytes (or a stored value) to the state. */
static void
state_add(MergeState *st, const uint8_t *data, size_t len, bool stored, uint64_t count)
{
	MemoryContext old = MemoryContextSwitchTo(st->scratch);
	PprofEnv	env;
	PprofProfile prof;
	PprofError	err;
	PprofStatus rc;

	pprof_env_init(&env);
	rc = stored ? pprof_store_decode(&env, data, len, &prof, &err)
		: pprof_decode(&env, data, len, &prof, &err);
	if (rc != PPROF_OK)
		pprof_report(&err);
	if (pprof_merger_add(st->merger, &env, &prof, &err) != PPROF_OK)
		report_merge_error(&err);
	if (count != 1)
		pprof_merger_set_count(st->merger, pprof_merger_count(st->merger) - 1 + count);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->scratch);
}

/* Decodes a deserialized state's pending bytes into its merger. */
static void
state_materialize(MergeState *st)
{
	if (st->pending != NULL)
	{
		uint8_t    *raw = st->pending;

		st->pending = NULL;
		state_add(st, raw, st->pending_len, false, st->pending_count);
		pfree(raw);
	}
}

/* The state's merged profile as raw protobuf, in the current context. */
static void
state_encode(MergeState *st, int64 divisor, uint8_t **out, size_t *outlen)
{
	PprofEnv	env;
	PprofError	err;

	state_materialize(st);
	pprof_env_init(&env);
	if (pprof_merger_encode(st->merger, &env, divisor, out, outlen, &err) != PPROF_OK)
		pprof_report(&err);
}

Datum
pprof_merge_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "pprof_merge_trans");
	MergeState *st = PG_ARGISNULL(0) ? NULL : (MergeState *) PG_GETARG_POINTER(0);
	bytea	   *p;

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	if (st == NULL)
		st = state_create(aggcxt);
	else
		state_materialize(st);
	p = PG_GETARG_PPROF_P(1);
	state_add(st, (const uint8_t *) VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p), true, 1);
	PG_RETURN_POINTER(st);
}

/* Never modifies the right-hand state; a NULL left one becomes a copy. */
Datum
pprof_merge_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "pprof_merge_combine");
	MergeState *a = PG_ARGISNULL(0) ? NULL : (MergeState *) PG_GETARG_POINTER(0);
	MergeState *b = PG_ARGISNULL(1) ? NULL : (MergeState *) PG_GETARG_POINTER(1);
	uint8_t    *raw;
	size_t		len;
	MemoryContext old;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = state_create(aggcxt);
	else
		state_materialize(a);
	if (b->pending != NULL)
	{
		/* a worker's state, still as bytes: decode it once, into a */
		state_add(a, b->pending, b->pending_len, false, b->pending_count);
		PG_RETURN_POINTER(a);
	}
	old = MemoryContextSwitchTo(a->scratch);
	state_encode(b, 1, &raw, &len);
	MemoryContextSwitchTo(old);
	state_add(a, raw, len, false, pprof_merger_count(b->merger));
	PG_RETURN_POINTER(a);
}

Datum
pprof_merge_serial(PG_FUNCTION_ARGS)
{
	MergeState *st;
	uint8_t    *raw;
	size_t		len;
	bytea	   *result;
	uint64		count;

	agg_context(fcinfo, "pprof_merge_serial");
	st = (MergeState *) PG_GETARG_POINTER(0);
	state_encode(st, 1, &raw, &len);
	if (len + 8 > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("merged profile is too large to pass between parallel workers"),
				 errdetail("It takes %zu bytes.", len)));
	result = palloc(VARHDRSZ + 8 + len);
	SET_VARSIZE(result, VARHDRSZ + 8 + len);
	count = pprof_merger_count(st->merger);
	memcpy(VARDATA(result), &count, 8);
	memcpy(VARDATA(result) + 8, raw, len);
	PG_RETURN_BYTEA_P(result);
}

/* Checks its input like any other: it is decoded and validated. */
Datum
pprof_merge_deserial(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "pprof_merge_deserial");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(b);
	const uint8_t *data = (const uint8_t *) VARDATA_ANY(b);
	uint64		count;
	MergeState *st;

	if (len < 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid pprof_merge state"),
				 errdetail("The state is %zu bytes, shorter than its 8-byte header.", len)));
	memcpy(&count, data, 8);
	if (count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid pprof_merge state"),
				 errdetail("The state claims to hold no profiles.")));
	/*
	 * Keep the bytes; they are decoded, and so validated, when the state is
	 * combined or otherwise used (state_materialize), never trusted as is.
	 */
	st = state_create(aggcxt);
	st->pending = MemoryContextAlloc(aggcxt, len - 8 > 0 ? len - 8 : 1);
	memcpy(st->pending, data + 8, len - 8);
	st->pending_len = len - 8;
	st->pending_count = count;
	PG_RETURN_POINTER(st);
}

static Datum
finish(FunctionCallInfo fcinfo, bool average)
{
	MergeState *st;
	uint8_t    *raw;
	size_t		len;

	agg_context(fcinfo, average ? "pprof_avg_final" : "pprof_merge_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (MergeState *) PG_GETARG_POINTER(0);
	state_encode(st, average ? (int64) pprof_merger_count(st->merger) : 1, &raw, &len);
	PG_RETURN_BYTEA_P(pprof_pack_value(raw, len));
}

Datum
pprof_merge_final(PG_FUNCTION_ARGS)
{
	return finish(fcinfo, false);
}

Datum
pprof_avg_final(PG_FUNCTION_ARGS)
{
	return finish(fcinfo, true);
}
