/*-------------------------------------------------------------------------
 *
 * read.c
 *	  SQL functions that read a profile: pprof_samples, pprof_top,
 *	  pprof_folded and pprof_flamegraph.
 *
 * The computing is the engine's (engine/report.h, engine/labels.h); this
 * file decodes the argument, converts results to SQL values and keeps
 * per-row memory in a scratch context.
 *
 * src/pg/read.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "engine/filter.h"
#include "engine/labels.h"
#include "engine/report.h"
#include "pgregex.h"
#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_samples);
PG_FUNCTION_INFO_V1(pprof_top);
PG_FUNCTION_INFO_V1(pprof_folded);
PG_FUNCTION_INFO_V1(pprof_flamegraph);
PG_FUNCTION_INFO_V1(pprof_focus_total);

static void
report_status(PprofStatus st, const PprofError *err)
{
	if (st != PPROF_OK)
		pprof_report(err);
}

/* The sample type argument at position argno (NULL = pprof's default). */
static int
sample_type_arg(FunctionCallInfo fcinfo, int argno, const PprofProfile *p)
{
	char	   *name = PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));

	return pprof_lookup_sample_type(p, name);
}

/* Text datums of every frame name, made valid in the database encoding. */
static Datum *
frame_texts(const PprofFrames *fr)
{
	Datum	   *t = palloc(Max(fr->n_frames, 1) * sizeof(Datum));

	for (size_t i = 0; i < fr->n_frames; i++)
	{
		t[i] = PointerGetDatum(pprof_string_to_text(fr->names[i]));
		if ((i & 0xfff) == 0xfff)
			CHECK_FOR_INTERRUPTS();
	}
	return t;
}

static JsonbValue
jsonb_string(PprofStr s)
{
	JsonbValue	v;
	text	   *t = pprof_string_to_text(s);

	v.type = jbvString;
	v.val.string.len = VARSIZE_ANY_EXHDR(t);
	v.val.string.val = VARDATA_ANY(t);
	return v;
}

static void
push_label_value(JsonbParseState **st, JsonbIteratorToken tok, const PprofProfile *p,
				 const PprofLabel *l)
{
	JsonbValue	v;
	PprofStr	unit;

	if (pprof_label_is_string(l))
	{
		v = jsonb_string(pprof_str(p, l->str));
		pushJsonbValue(st, tok, &v);
		return;
	}
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(l->num);
	unit = pprof_label_unit(p, l);
	if (unit.len == 0)
	{
		pushJsonbValue(st, tok, &v);
		return;
	}
	{
		JsonbValue	k,
					u;

		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		k.type = jbvString;
		k.val.string.val = "value";
		k.val.string.len = 5;
		pushJsonbValue(st, WJB_KEY, &k);
		pushJsonbValue(st, WJB_VALUE, &v);
		k.val.string.val = "unit";
		k.val.string.len = 4;
		pushJsonbValue(st, WJB_KEY, &k);
		u = jsonb_string(unit);
		pushJsonbValue(st, WJB_VALUE, &u);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
}

/*
 * A sample's labels as jsonb: {"key": value}, value being a string, a
 * number, or {"value": n, "unit": u} for numeric labels with a unit; a key
 * with more than one value maps to an array of its values, in order
 * (engine/labels.h groups them as Go's profile package does).
 */
static Jsonb *
labels_jsonb(const PprofEnv *env, const PprofProfile *p, size_t s)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	PprofLabelRun *runs;
	size_t		n = pprof_sample_label_runs(env, p, s, &runs);

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (size_t i = 0; i < n; i++)
	{
		JsonbValue	k = jsonb_string(runs[i].key);

		pushJsonbValue(&st, WJB_KEY, &k);
		if (runs[i].n == 1)
			push_label_value(&st, WJB_VALUE, p, runs[i].labels[0]);
		else
		{
			pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
			for (uint32_t m = 0; m < runs[i].n; m++)
				push_label_value(&st, WJB_ELEM, p, runs[i].labels[m]);
			pushJsonbValue(&st, WJB_END_ARRAY, NULL);
		}
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * pprof_samples(p) RETURNS TABLE(stack text[], value bigint[], labels jsonb)
 * One row per sample, stack leaf first.
 */
Datum
pprof_samples(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofProfile prof;
	PprofEnv	env,
				rowenv;
	PprofFrames fr;
	Datum	   *names;
	uint32_t   *stack;
	Datum	   *elems;
	size_t		maxd = 0;
	MemoryContext rowcxt,
				old;

	InitMaterializedSRF(fcinfo, 0);
	Assert(rsinfo->setDesc->natts == 3);
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	pprof_env_init(&env);
	pprof_frames_build(&env, &prof, PPROF_NAMES_STACKS, &fr);
	names = frame_texts(&fr);
	for (size_t s = 0; s < prof.n_sample; s++)
		maxd = Max(maxd, pprof_stack_depth(&prof, &fr, s));
	stack = palloc((maxd + 1) * sizeof(uint32_t));
	elems = palloc((Max(maxd, prof.n_sample_type) + 1) * sizeof(Datum));

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "pprof_samples row",
								   ALLOCSET_DEFAULT_SIZES);
	for (size_t s = 0; s < prof.n_sample; s++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		size_t		d;
		const int64_t *v = pprof_sample_values(&prof, s);

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rowcxt);
		d = pprof_sample_stack(&prof, &fr, s, stack);
		for (size_t i = 0; i < d; i++)
			elems[i] = names[stack[i]];
		values[0] = PointerGetDatum(construct_array(elems, (int) d, TEXTOID, -1, false, TYPALIGN_INT));
		for (size_t i = 0; i < prof.n_sample_type; i++)
			elems[i] = Int64GetDatum(v[i]);
		values[1] = PointerGetDatum(construct_array(elems, (int) prof.n_sample_type, INT8OID,
													8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		pprof_env_init(&rowenv);	/* allocating in rowcxt, reset per row */
		values[2] = PointerGetDatum(labels_jsonb(&rowenv, &prof, s));
		MemoryContextSwitchTo(old);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(rowcxt);
	}
	MemoryContextDelete(rowcxt);
	return (Datum) 0;
}

static double
pct(int64 v, int64 total)
{
	if (total == 0)
		return 0;
	return fabs((double) v / (double) total) * 100.0;
}

/*
 * pprof_top(p, sample_type DEFAULT NULL, n DEFAULT NULL)
 *   RETURNS TABLE(func text, flat bigint, flat_pct float8, sum_pct float8,
 *                 cum bigint, cum_pct float8)
 */
Datum
pprof_top(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofProfile prof;
	PprofEnv	env;
	PprofError	err;
	PprofTop	top;
	int			idx;
	int64		limit = -1;
	int64		flat_sum = 0;

	InitMaterializedSRF(fcinfo, 0);
	Assert(rsinfo->setDesc->natts == 6);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	if (!PG_ARGISNULL(2))
	{
		limit = PG_GETARG_INT32(2);
		if (limit < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("n must not be negative"),
					 errdetail("n is the number of rows to return; NULL returns them all.")));
	}
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	idx = sample_type_arg(fcinfo, 1, &prof);
	if (idx < 0)
		return (Datum) 0;
	pprof_env_init(&env);
	report_status(pprof_compute_top(&env, &prof, idx, &top, &err), &err);

	for (size_t i = 0; i < top.n_rows && (limit < 0 || (int64) i < limit); i++)
	{
		const PprofTopRow *r = &top.rows[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		flat_sum += r->flat;
		values[0] = PointerGetDatum(pprof_string_to_text(top.frames.names[r->frame]));
		values[1] = Int64GetDatum(r->flat);
		values[2] = Float8GetDatum(pct(r->flat, top.total));
		values[3] = Float8GetDatum(pct(flat_sum, top.total));
		values[4] = Int64GetDatum(r->cum);
		values[5] = Float8GetDatum(pct(r->cum, top.total));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* pprof_folded(p, sample_type DEFAULT NULL) RETURNS text */
Datum
pprof_folded(PG_FUNCTION_ARGS)
{
	PprofProfile prof;
	PprofEnv	env;
	PprofError	err;
	PprofFlame	flame;
	PprofBuf	out;
	int			idx;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	idx = sample_type_arg(fcinfo, 1, &prof);
	pprof_env_init(&env);
	pprof_buf_init(&out, &env, 4096);
	if (idx >= 0)
	{
		report_status(pprof_flame_build(&env, &prof, idx, &flame, &err), &err);
		pprof_write_folded(&env, &flame, &out);
	}
	PG_RETURN_TEXT_P(pprof_string_to_text((PprofStr) {(const uint8_t *) out.data, out.len}));
}

/* pprof_flamegraph(p, sample_type DEFAULT NULL, title DEFAULT NULL) RETURNS text */
Datum
pprof_flamegraph(PG_FUNCTION_ARGS)
{
	PprofProfile prof;
	PprofEnv	env;
	PprofError	err;
	PprofFlame	flame;
	PprofBuf	out;
	int			idx;
	char	   *title = NULL;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!PG_ARGISNULL(2))
		title = text_to_cstring(PG_GETARG_TEXT_PP(2));
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	idx = sample_type_arg(fcinfo, 1, &prof);
	pprof_env_init(&env);
	pprof_buf_init(&out, &env, 65536);
	if (idx >= 0)
		report_status(pprof_flame_build(&env, &prof, idx, &flame, &err), &err);
	else
	{
		memset(&flame, 0, sizeof(flame));
		flame.nodes = palloc0(sizeof(PprofFlameNode));
		flame.n_nodes = 1;
	}
	pprof_flame_svg(&env, &prof, idx, &flame, title, &out);
	PG_RETURN_TEXT_P(pprof_string_to_text((PprofStr) {(const uint8_t *) out.data, out.len}));
}

/*
 * pprof_focus_total(p, func, sample_type DEFAULT NULL) RETURNS bigint: the
 * total of one sample type over the samples `-focus=func` keeps, as
 * pprof_total(pprof_filter(p, focus => func)) but without building the
 * filtered profile. NULL when the profile has no sample types.
 */
Datum
pprof_focus_total(PG_FUNCTION_ARGS)
{
	PprofProfile prof;
	PprofEnv	env;
	PprofError	err;
	PprofRegex	re;
	int64_t		total;
	int			idx;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	re = pprof_pg_regex_cached(PG_GETARG_TEXT_PP(1));
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	idx = sample_type_arg(fcinfo, 2, &prof);
	if (idx < 0)
		PG_RETURN_NULL();
	pprof_env_init(&env);
	report_status(pprof_total_focused(&env, &prof, &re, idx, &total, &err), &err);
	PG_RETURN_INT64(total);
}
