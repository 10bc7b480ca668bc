/*-------------------------------------------------------------------------
 *
 * flamerows.c
 *	  pprof_flamegraph_rows: a profile (or two, compared) as the nested-set
 *	  rows Grafana's Flame Graph panel reads.
 *
 * The tree and the folding are the engine's (engine/flamerows.h); frames
 * are named as pprof_top names them.
 *
 * src/pg/flamerows.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "engine/flamerows.h"
#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_flamegraph_rows);
PG_FUNCTION_INFO_V1(pprof_flamegraph_rows_diff);

/* max_nodes at argno: 0 when NULL (every node); an error below 2. */
static size_t
max_nodes_arg(FunctionCallInfo fcinfo, int argno)
{
	int32		n;

	if (PG_ARGISNULL(argno))
		return 0;
	n = PG_GETARG_INT32(argno);
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_nodes must be at least 2"),
				 errdetail("max_nodes is %d; the root and an \"other\" node for the rest need two rows. "
						   "NULL keeps every node.", n)));
	return (size_t) n;
}

static void
put_rows(ReturnSetInfo *rsinfo, const PprofFlameRows *rows, bool diff)
{
	for (size_t i = 0; i < rows->n_rows; i++)
	{
		const PprofFlameRow *r = &rows->rows[i];
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		values[0] = Int32GetDatum((int32) i);
		values[1] = Int32GetDatum((int32) r->level);
		values[2] = PointerGetDatum(pprof_string_to_text(r->label));
		/* one side: the profile's; a comparison: the base left, the profile right */
		values[3] = Int64GetDatum(r->self);
		values[4] = Int64GetDatum(r->value);
		if (diff)
		{
			values[5] = Int64GetDatum(r->self_b);
			values[6] = Int64GetDatum(r->value_b);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((i & 0xfff) == 0xfff)
			CHECK_FOR_INTERRUPTS();
	}
}

static void
build_rows(PprofFlameSide *sides, int n_sides, size_t max_nodes, PprofFlameRows *rows)
{
	PprofEnv	env;
	PprofError	err;
	PprofFlame	flame;
	PprofStatus st;

	pprof_env_init(&env);
	st = pprof_flame_build_sides(&env, sides, n_sides, PPROF_NAMES_FUNCTIONS, &flame, &err);
	if (st == PPROF_OK)
		st = pprof_flame_rows(&env, &flame, max_nodes, rows, &err);
	if (st != PPROF_OK)
		pprof_report(&err);
}

/*
 * pprof_flamegraph_rows(p, sample_type DEFAULT NULL, max_nodes DEFAULT NULL)
 * RETURNS TABLE (ord, level, label, self, value)
 */
Datum
pprof_flamegraph_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofProfile prof;
	PprofFlameSide side;
	PprofFlameRows rows;
	size_t		max_nodes;
	int			idx;

	InitMaterializedSRF(fcinfo, 0);
	Assert(rsinfo->setDesc->natts == 5);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	max_nodes = max_nodes_arg(fcinfo, 2);
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	idx = pprof_lookup_sample_type(&prof, PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (idx < 0)
		return (Datum) 0;			/* no sample types: nothing to draw */
	side.p = &prof;
	side.sample_index = idx;
	build_rows(&side, 1, max_nodes, &rows);
	put_rows(rsinfo, &rows, false);
	return (Datum) 0;
}

/*
 * pprof_flamegraph_rows(p, base, sample_type DEFAULT NULL, max_nodes DEFAULT
 * NULL) RETURNS TABLE (ord, level, label, self, value, self_right,
 * value_right): Grafana's comparison, value/self of base (the baseline),
 * value_right/self_right of p, over the union of both trees.
 */
Datum
pprof_flamegraph_rows_diff(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofProfile prof,
				base;
	PprofFlameSide sides[2];
	PprofFlameRows rows;
	PprofError	err;
	size_t		max_nodes;
	int			idx;

	InitMaterializedSRF(fcinfo, 0);
	Assert(rsinfo->setDesc->natts == 7);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	max_nodes = max_nodes_arg(fcinfo, 3);
	pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
	pprof_decode_datum(PG_GETARG_PPROF_P(1), &base);
	if (pprof_same_types(&base, &prof, &err) != PPROF_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot compare profiles of different types"),
				 errdetail("%s", err.detail)));
	idx = pprof_lookup_sample_type(&prof, PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	if (idx < 0)
		return (Datum) 0;
	/* the same types, so the same index; the default is p's */
	sides[0].p = &base;
	sides[0].sample_index = idx;
	sides[1].p = &prof;
	sides[1].sample_index = idx;
	build_rows(sides, 2, max_nodes, &rows);
	put_rows(rsinfo, &rows, true);
	return (Datum) 0;
}
