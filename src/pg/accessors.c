/*-------------------------------------------------------------------------
 *
 * accessors.c
 *	  Header facts of a profile: sample types, period, time, duration,
 *	  sample count, default sample type and totals.
 *
 * src/pg/accessors.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "common/int.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_sample_types);
PG_FUNCTION_INFO_V1(pprof_period_type);
PG_FUNCTION_INFO_V1(pprof_period);
PG_FUNCTION_INFO_V1(pprof_time);
PG_FUNCTION_INFO_V1(pprof_duration);
PG_FUNCTION_INFO_V1(pprof_sample_count);
PG_FUNCTION_INFO_V1(pprof_default_sample_type);
PG_FUNCTION_INFO_V1(pprof_total);
PG_FUNCTION_INFO_V1(pprof_summary);
PG_FUNCTION_INFO_V1(pprof_facts);

/* pprof_sample_types(p) RETURNS TABLE(type text, unit text) */
Datum
pprof_sample_types(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofProfile prof;

	InitMaterializedSRF(fcinfo, 0);
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	Assert(rsinfo->setDesc->natts == 2);
	for (size_t i = 0; i < prof.n_sample_type; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = PointerGetDatum(pprof_string_to_text(pprof_str(&prof, prof.sample_types[i].type)));
		values[1] = PointerGetDatum(pprof_string_to_text(pprof_str(&prof, prof.sample_types[i].unit)));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* pprof_period_type(p): 'type/unit', NULL when the profile has none. */
Datum
pprof_period_type(PG_FUNCTION_ARGS)
{
	PprofProfile prof;
	text	   *t,
			   *u;

	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	/* unset as Go sees it: both strings empty, however they are indexed */
	if (pprof_str(&prof, prof.period_type.type).len == 0 && pprof_str(&prof, prof.period_type.unit).len == 0)
		PG_RETURN_NULL();
	t = pprof_string_to_text(pprof_str(&prof, prof.period_type.type));
	u = pprof_string_to_text(pprof_str(&prof, prof.period_type.unit));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s/%s", text_to_cstring(t),
											  text_to_cstring(u))));
}

Datum
pprof_period(PG_FUNCTION_ARGS)
{
	PprofProfile prof;

	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	PG_RETURN_INT64(prof.period);
}

/* pprof_time(p): time_nanos as timestamptz, NULL when unset (0). */
Datum
pprof_time(PG_FUNCTION_ARGS)
{
	PprofProfile prof;

	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	if (prof.time_nanos == 0)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(pprof_nanos_to_timestamptz(prof.time_nanos));
}

/*
 * pprof_summary(p, OUT time, OUT sample_count): what save_profile needs,
 * from one decode.
 */
Datum
pprof_summary(PG_FUNCTION_ARGS)
{
	PprofProfile prof;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	if (prof.time_nanos == 0)
		nulls[0] = true;
	else
		values[0] = TimestampTzGetDatum(pprof_nanos_to_timestamptz(prof.time_nanos));
	values[1] = Int64GetDatum((int64) prof.n_sample);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* pprof_duration(p): duration_nanos as an interval (microsecond precision). */
Datum
pprof_duration(PG_FUNCTION_ARGS)
{
	PprofProfile prof;
	Interval   *iv = palloc0(sizeof(Interval));

	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	iv->time = prof.duration_nanos / 1000;
	PG_RETURN_INTERVAL_P(iv);
}

Datum
pprof_sample_count(PG_FUNCTION_ARGS)
{
	PprofProfile prof;

	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	PG_RETURN_INT64((int64) prof.n_sample);
}

/* pprof_default_sample_type(p): NULL when the profile names none. */
Datum
pprof_default_sample_type(PG_FUNCTION_ARGS)
{
	PprofProfile prof;

	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	if (pprof_str(&prof, prof.default_sample_type).len == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(pprof_string_to_text(pprof_str(&prof, prof.default_sample_type)));
}

/*
 * pprof_total(p, sample_type DEFAULT NULL): the sum of one sample type's
 * values. NULL picks pprof's default; NULL when the profile has no sample
 * types at all.
 */
Datum
pprof_total(PG_FUNCTION_ARGS)
{
	PprofProfile prof;
	char	   *name;
	int			idx;
	int64		total = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	idx = pprof_lookup_sample_type(&prof, name);
	if (idx < 0)
		PG_RETURN_NULL();
	for (size_t i = 0; i < prof.n_sample; i++)
	{
		if (pg_add_s64_overflow(total, pprof_sample_values(&prof, i)[idx], &total))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("total of sample type \"%s\" is out of range for type bigint",
							text_to_cstring(pprof_string_to_text(pprof_str(&prof, prof.sample_types[idx].type))))));
	}
	PG_RETURN_INT64(total);
}

/*
 * pprof_facts(p, OUT sample_types text[], OUT totals bigint[], OUT
 * default_type int): every sample type's total from one decode (NULL where
 * a sum overflows bigint), and pprof's default sample type (1-based).
 */
Datum
pprof_facts(PG_FUNCTION_ARGS)
{
	PprofProfile prof;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	ProfileFacts facts;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	Assert(tupdesc->natts == 3);
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	pprof_totals_datums(&prof, &facts);
	values[0] = facts.sample_types;
	values[1] = facts.totals;
	values[2] = Int32GetDatum(facts.default_type);
	nulls[2] = facts.default_type == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
