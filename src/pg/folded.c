/*-------------------------------------------------------------------------
 *
 * folded.c
 *	  pprof_from_folded: collapsed stacks ("a;b;c 10" per line) as a pprof
 *	  value, for profiles that come from py-spy, rbspy, stackcollapse
 *	  scripts or Pyroscope's folded ingest format.
 *
 * src/pg/folded.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "engine/folded.h"
#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_folded_in);

/* A text argument, or def when NULL. */
static const char *
text_arg(FunctionCallInfo fcinfo, int n, const char *def)
{
	return PG_ARGISNULL(n) ? def : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static void
check_name(const char *what, const char *v)
{
	if (v[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
}

/*
 * pprof_from_folded(stacks, sample_type, unit, scale, period_type,
 * period_unit, period, profile_time, duration, lines) → pprof
 */
Datum
pprof_folded_in(PG_FUNCTION_ARGS)
{
	text	   *stacks;
	PprofFoldedSpec spec = {0};
	PprofEnv	env;
	PprofError	err;
	uint8_t    *raw;
	size_t		rawlen;
	bytea	   *result;
	MemoryContext tmp,
				old;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	stacks = PG_GETARG_TEXT_PP(0);
	spec.ntypes = 1;
	spec.type[0] = text_arg(fcinfo, 1, "samples");
	spec.unit[0] = text_arg(fcinfo, 2, "count");
	spec.scale[0] = PG_ARGISNULL(3) ? 1 : PG_GETARG_INT64(3);
	spec.period_type = text_arg(fcinfo, 4, NULL);
	spec.period_unit = text_arg(fcinfo, 5, NULL);
	spec.period = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6);
	spec.lines = !PG_ARGISNULL(9) && PG_GETARG_BOOL(9);
	check_name("sample_type", spec.type[0]);
	check_name("unit", spec.unit[0]);
	if (spec.scale[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scale must be at least 1"),
				 errdetail("Each count is worth scale units of the sample type; %lld was given.",
						   (long long) spec.scale[0])));
	if ((spec.period_type == NULL) != (spec.period_unit == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("period_type and period_unit go together")));
	if (spec.period < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("period must not be negative")));
	if (spec.period_type)
	{
		check_name("period_type", spec.period_type);
		check_name("period_unit", spec.period_unit);
	}
	if (!PG_ARGISNULL(7))
	{
		TimestampTz t = PG_GETARG_TIMESTAMPTZ(7);

		if (TIMESTAMP_NOT_FINITE(t))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("profile_time must be finite")));
		/* microseconds since 2000-01-01 to nanoseconds since 1970 */
		spec.time_nanos = (t + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY) * 1000;
	}
	if (!PG_ARGISNULL(8))
	{
		Interval   *d = PG_GETARG_INTERVAL_P(8);

		if (d->month != 0 || d->day != 0 || d->time < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("duration must be a non-negative number of hours, minutes and seconds")));
		spec.duration_nanos = d->time * 1000;
	}

	tmp = AllocSetContextCreate(CurrentMemoryContext, "profefe folded", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	pprof_env_init(&env);
	env.max_size = (size_t) profefe_max_profile_size;
	if (pprof_from_folded(&env, VARDATA_ANY(stacks), VARSIZE_ANY_EXHDR(stacks), &spec, &raw, &rawlen, &err) != PPROF_OK)
	{
		if (err.status == PPROF_MALFORMED)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid collapsed stacks"),
					 errdetail("%s", err.detail),
					 errhint("Each line is \"frame;frame;...;leaf COUNT\", root first%s.",
							 spec.lines ? " (with lines, without the count)" : "")));
		pprof_report(&err);
	}
	MemoryContextSwitchTo(old);
	/* validated and packed as any received profile */
	result = pprof_make_value(raw, rawlen);
	MemoryContextDelete(tmp);
	PG_RETURN_BYTEA_P(result);
}
