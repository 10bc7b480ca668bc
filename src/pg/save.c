/*-------------------------------------------------------------------------
 *
 * save.c
 *	  save_profiles in C: the collector's hot path (0.8.0).
 *
 * The collector saves each group commit of plain profiles with one
 * save_profiles call. Written in plpgsql (0.7.0) that call cost ~1.2 ms
 * for one profile, of which the engine's decode was 0.2 ms and the row's
 * INSERT 0.07: the rest was plpgsql running a dozen statements a profile
 * (decisions.md §17). This is the same function, checks and errors, with
 * the per-profile work done here: the tenant, its limits, the metadata
 * checks (check_service_type, check_labels) and the partitions
 * (ensure_partition) are still the SQL functions of the same names, called
 * through fmgr, so there is one definition of each rule; the rows go in
 * with one INSERT ... SELECT FROM unnest(...) (so the rollup trigger runs
 * once a call), through an SPI plan kept for the backend's life.
 *
 * The checks run profile by profile in order, each profile's metadata
 * before its bytes, as in 0.7.0, so the same first error comes back.
 *
 * src/pg/save.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "profefe.h"

PG_FUNCTION_INFO_V1(profefe_save_profiles);

#define N_ARRAYS 6

/* A text[]/bytea[]/jsonb[]/timestamptz[] argument, flattened. */
typedef struct ArgArray
{
	int			n;				/* -1: the array is NULL */
	Datum	   *values;
	bool	   *nulls;
} ArgArray;

static void
get_array(FunctionCallInfo fcinfo, int arg, Oid elemtype, ArgArray *out)
{
	ArrayType  *a;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (PG_ARGISNULL(arg))
	{
		out->n = -1;
		return;
	}
	a = PG_GETARG_ARRAYTYPE_P(arg);
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(a, elemtype, typlen, typbyval, typalign, &out->values, &out->nulls, &out->n);
}

/* profefe.NAME(args), found by its argument types. */
static void
profefe_fn(const char *name, int nargs, const Oid *argtypes, FmgrInfo *fl)
{
	List	   *qname = list_make2(makeString("profefe"), makeString(pstrdup(name)));

	fmgr_info(LookupFuncName(qname, nargs, argtypes, false), fl);
}

/* Calls a (non-strict) SQL function with arguments that may be NULL. */
static Datum
call_fn(FmgrInfo *fl, int nargs, const Datum *args, const bool *nulls, bool *isnull)
{
	LOCAL_FCINFO(fc, 3);
	Datum		result;

	Assert(nargs <= 3);
	InitFunctionCallInfoData(*fc, fl, nargs, DEFAULT_COLLATION_OID, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fc->args[i].value = args[i];
		fc->args[i].isnull = nulls[i];
	}
	result = FunctionCallInvoke(fc);
	*isnull = fc->isnull;
	return result;
}

/* The tenant's limits that a save checks (tenant_limits_of's first four). */
typedef struct Limits
{
	bool		has_body;
	int32		max_body;
	int32		max_samples;	/* 0: none (NULL counts as none too) */
	int32		max_depth;
	int32		max_labels;
} Limits;

static int32
limit_field(HeapTupleHeader th, int attno, bool *present)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(th, attno, &isnull);

	if (present)
		*present = !isnull;
	return isnull ? 0 : DatumGetInt32(d);
}

static void
tenant_limits(text *tenant, Limits *lim)
{
	FmgrInfo	fl;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(tenant)};
	bool		nulls[1] = {false};
	bool		isnull;
	Datum		row;
	HeapTupleHeader th;

	profefe_fn("tenant_limits_of", 1, argtypes, &fl);
	row = call_fn(&fl, 1, args, nulls, &isnull);
	if (isnull)
		elog(ERROR, "tenant_limits_of returned NULL");
	th = DatumGetHeapTupleHeader(row);
	lim->max_body = limit_field(th, 1, &lim->has_body);
	lim->max_samples = limit_field(th, 2, NULL);
	lim->max_depth = limit_field(th, 3, NULL);
	lim->max_labels = limit_field(th, 4, NULL);
}

/* One profile, checked and decoded, as its row will hold it. */
typedef struct Row
{
	Datum		labels;			/* jsonb, as check_labels returns it */
	Datum		profile;		/* the stored pprof value */
	TimestampTz created_at;
	int32		size;
	int64		sample_count;
	Datum		sample_types;	/* text: the text[] literal */
	Datum		totals;			/* text: the bigint[] literal */
	int32		default_type;	/* 0: NULL */
	Datum		id;
	DateADT		day;			/* UTC day: its partition */
} Row;

static const char *const columns =
"INSERT INTO profefe.profiles (profile_id, tenant, service, type, instance_id, labels, created_at, profile, size, "
"sample_count, sample_types, totals, default_type) "
"SELECT u.id, $1, u.s, u.ty, u.inst, u.l, u.t, u.p, u.sz, u.c, u.st::text[], u.tot::bigint[], nullif(u.def, 0) "
"FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::profefe.pprof[], "
"$9::int[], $10::bigint[], $11::text[], $12::text[], $13::int[]) AS u(id, s, ty, inst, l, t, p, sz, c, st, tot, def)";

/*
 * The INSERT's plan, kept for the backend. It is planned again when the
 * extension was made anew (another profiles table or pprof type) and
 * otherwise revalidated by the plan cache.
 */
static SPIPlanPtr insert_plan;
static Oid	insert_plan_rel;
static Oid	insert_plan_type;

#define N_PARAMS 13

static SPIPlanPtr
get_insert_plan(Oid rel, Oid pprof_array)
{
	Oid			types[N_PARAMS] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	JSONBARRAYOID, TIMESTAMPTZARRAYOID, pprof_array, INT4ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	INT4ARRAYOID};
	SPIPlanPtr	plan;

	if (insert_plan != NULL && insert_plan_rel == rel && insert_plan_type == pprof_array)
		return insert_plan;
	if (insert_plan != NULL)
	{
		SPI_freeplan(insert_plan);
		insert_plan = NULL;
	}
	plan = SPI_prepare(columns, N_PARAMS, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the profiles INSERT: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the profiles INSERT plan");
	insert_plan = plan;
	insert_plan_rel = rel;
	insert_plan_type = pprof_array;
	return plan;
}

static Datum
array_of(Datum *values, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elemtype, typlen, typbyval, typalign));
}

static int
cmp_day(const void *a, const void *b)
{
	DateADT		x = *(const DateADT *) a;
	DateADT		y = *(const DateADT *) b;

	return x < y ? -1 : x > y;
}

/*
 * Whether the day's partition profiles_YYYYMMDD is there (ensure_partition's
 * own first check, without the call); a missing one is made by
 * ensure_partition.
 */
static bool
partition_exists(DateADT day, Oid nsp)
{
	int			y,
				m,
				d;
	char		name[NAMEDATALEN];

	if (DATE_NOT_FINITE(day))
		return false;
	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	if (y < 1 || y > 9999)
		return false;
	snprintf(name, sizeof(name), "profiles_%04d%02d%02d", y, m, d);
	return OidIsValid(get_relname_relid(name, nsp));
}

/*
 * Labels check_labels would return as they are: a JSON object whose values
 * are all strings. Anything else is left to check_labels itself (NULL
 * becomes {}, the rest an error saying why), so its rules stay in one
 * place; this only spares the common case a plpgsql call and its query.
 */
static bool
labels_plain(Jsonb *jb)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		return false;
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_VALUE && v.type != jbvString)
			return false;
	return true;
}

/*
 * Checks and decodes profile i (in order: its type, service, labels,
 * bytes, label count, then the decode and its sample limits).
 */
static void
accept_one(ArgArray *arr, int i, text *tenant, const Limits *lim, FmgrInfo *check_st, FmgrInfo *check_lab, Row *row)
{
	ArgArray   *services = &arr[0],
			   *types = &arr[1],
			   *datas = &arr[2],
			   *labels = &arr[3],
			   *created = &arr[4];
	Datum		args[3];
	bool		nulls[3];
	bool		isnull;
	bytea	   *data;
	Jsonb	   *lab;
	ProfileFacts facts;

	if (!types->nulls[i] && strcmp(TextDatumGetCString(types->values[i]), "trace") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("save_profiles does not take traces"),
				 errdetail("Save traces with save_profile.")));
	args[0] = services->values[i];
	nulls[0] = services->nulls[i];
	args[1] = types->values[i];
	nulls[1] = types->nulls[i];
	args[2] = BoolGetDatum(true);
	nulls[2] = false;
	(void) call_fn(check_st, 3, args, nulls, &isnull);
	if (!labels->nulls[i] && labels_plain(DatumGetJsonbP(labels->values[i])))
		row->labels = labels->values[i];
	else
	{
		args[0] = labels->values[i];
		nulls[0] = labels->nulls[i];
		row->labels = call_fn(check_lab, 1, args, nulls, &isnull);
		if (isnull)
			elog(ERROR, "check_labels returned NULL");
	}
	if (datas->nulls[i] || VARSIZE_ANY_EXHDR(DatumGetPointer(datas->values[i])) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("empty profile"),
				 errdetail("The profile data has no bytes.")));
	data = DatumGetByteaPP(datas->values[i]);
	row->size = (int32) VARSIZE_ANY_EXHDR(data);
	if (lim->has_body && row->size > lim->max_body)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("profile is too large"),
				 errdetail("The profile is %d bytes; tenant \"%s\" accepts at most %d (tenant_limits.max_body).",
						   row->size, text_to_cstring(tenant), lim->max_body)));
	lab = DatumGetJsonbP(row->labels);
	if (lim->max_labels > 0 && (int32) JB_ROOT_COUNT(lab) > lim->max_labels)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many labels"),
				 errdetail("The profile has %d labels; tenant \"%s\" accepts at most %d (profefe.max_labels).",
						   (int) JB_ROOT_COUNT(lab), text_to_cstring(tenant), lim->max_labels)));
	row->labels = PointerGetDatum(lab);

	row->profile = PointerGetDatum(pprof_make_value_facts((const uint8_t *) VARDATA_ANY(data),
														  VARSIZE_ANY_EXHDR(data), &facts, true));
	if (lim->max_samples > 0 && facts.n_sample > lim->max_samples)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many samples"),
				 errdetail("The profile has " INT64_FORMAT " samples; tenant \"%s\" accepts at most %d (profefe.max_samples).",
						   facts.n_sample, text_to_cstring(tenant), lim->max_samples)));
	if (lim->max_depth > 0 && facts.max_depth > lim->max_depth)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("stack too deep"),
				 errdetail("A sample's stack has " INT64_FORMAT " locations; tenant \"%s\" accepts at most %d (profefe.max_depth).",
						   facts.max_depth, text_to_cstring(tenant), lim->max_depth)));

	/* created_at: the profile's own time, else the one given, else now() */
	if (facts.time_nanos != 0)
		row->created_at = pprof_nanos_to_timestamptz(facts.time_nanos);
	else if (!created->nulls[i])
		row->created_at = DatumGetTimestampTz(created->values[i]);
	else
		row->created_at = GetCurrentTransactionStartTimestamp();
	row->sample_count = facts.n_sample;
	row->sample_types = CStringGetTextDatum(OidOutputFunctionCall(F_ARRAY_OUT, facts.sample_types));
	row->totals = CStringGetTextDatum(OidOutputFunctionCall(F_ARRAY_OUT, facts.totals));
	row->default_type = facts.default_type;
	row->id = PointerGetDatum(profefe_make_id(row->created_at));
	/* (created_at AT TIME ZONE 'UTC')::date, as ensure_partition names days */
	row->day = DatumGetDateADT(DirectFunctionCall1(timestamp_date,
												   DirectFunctionCall2(timestamptz_zone,
																	   CStringGetTextDatum("UTC"),
																	   TimestampTzGetDatum(row->created_at))));
}

/*
 * save_profiles(services text[], types text[], datas bytea[], labels jsonb[],
 *               created_ats timestamptz[], instance_ids text[]) RETURNS SETOF text
 * SECURITY DEFINER (sql/profefe.sql): save_profile of many profiles in one
 * statement, all or none; their ids in order.
 */
Datum
profefe_save_profiles(PG_FUNCTION_ARGS)
{
	static const Oid elemtypes[N_ARRAYS] = {TEXTOID, TEXTOID, BYTEAOID, JSONBOID, TIMESTAMPTZOID, TEXTOID};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArgArray	arr[N_ARRAYS];
	int			n;
	FmgrInfo	fl_tenant,
				fl_check_st,
				fl_check_lab,
				fl_partition;
	Oid			st_types[3] = {TEXTOID, TEXTOID, BOOLOID};
	Oid			lab_types[1] = {JSONBOID};
	Oid			day_types[1] = {DATEOID};
	bool		isnull;
	text	   *tenant;
	Limits		lim;
	Row		   *rows;
	DateADT    *days;
	Oid			nsp,
				rel,
				pprof_type,
				pprof_array;

	for (int k = 0; k < N_ARRAYS; k++)
		get_array(fcinfo, k, elemtypes[k], &arr[k]);
	n = arr[2].n < 0 ? 0 : arr[2].n;
	for (int k = 0; k < N_ARRAYS; k++)
		if (k != 2 && arr[k].n != n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the arrays of save_profiles differ in length"),
					 errdetail("services, types, datas, labels, created_ats and instance_ids have one element per profile.")));

	profefe_fn("current_tenant", 0, NULL, &fl_tenant);
	tenant = DatumGetTextPP(call_fn(&fl_tenant, 0, NULL, NULL, &isnull));
	if (isnull)
		elog(ERROR, "current_tenant returned NULL");
	tenant_limits(tenant, &lim);
	profefe_fn("check_service_type", 3, st_types, &fl_check_st);
	profefe_fn("check_labels", 1, lab_types, &fl_check_lab);

	rows = palloc0(sizeof(Row) * (n + 1));
	days = palloc(sizeof(DateADT) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		accept_one(arr, i, tenant, &lim, &fl_check_st, &fl_check_lab, &rows[i]);
		days[i] = rows[i].day;
	}

	/* the insert's lock first (see save_profile), then each day's partition */
	nsp = get_namespace_oid("profefe", false);
	rel = get_relname_relid("profiles", nsp);
	pprof_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("pprof"), ObjectIdGetDatum(nsp));
	pprof_array = get_array_type(pprof_type);
	if (!OidIsValid(rel) || !OidIsValid(pprof_array))
		elog(ERROR, "profefe.profiles or profefe.pprof is missing");
	LockRelationOid(rel, RowExclusiveLock);
	qsort(days, n, sizeof(DateADT), cmp_day);
	profefe_fn("ensure_partition", 1, day_types, &fl_partition);
	for (int i = 0; i < n; i++)
	{
		Datum		arg = DateADTGetDatum(days[i]);
		bool		nonull = false;

		if ((i > 0 && days[i] == days[i - 1]) || partition_exists(days[i], nsp))
			continue;
		(void) call_fn(&fl_partition, 1, &arg, &nonull, &isnull);
	}

	if (n > 0)
	{
		Datum		params[N_PARAMS];
		Datum	   *cols[9];
		SPIPlanPtr	plan;
		int			rc;

		for (int c = 0; c < 9; c++)
			cols[c] = palloc(sizeof(Datum) * n);
		for (int i = 0; i < n; i++)
		{
			cols[0][i] = rows[i].id;
			cols[1][i] = rows[i].labels;
			cols[2][i] = TimestampTzGetDatum(rows[i].created_at);
			cols[3][i] = rows[i].profile;
			cols[4][i] = Int32GetDatum(rows[i].size);
			cols[5][i] = Int64GetDatum(rows[i].sample_count);
			cols[6][i] = rows[i].sample_types;
			cols[7][i] = rows[i].totals;
			cols[8][i] = Int32GetDatum(rows[i].default_type);
		}
		params[0] = PointerGetDatum(tenant);
		params[1] = array_of(cols[0], NULL, n, TEXTOID);
		params[2] = array_of(arr[0].values, arr[0].nulls, n, TEXTOID);
		params[3] = array_of(arr[1].values, arr[1].nulls, n, TEXTOID);
		params[4] = array_of(arr[5].values, arr[5].nulls, n, TEXTOID);
		params[5] = array_of(cols[1], NULL, n, JSONBOID);
		params[6] = array_of(cols[2], NULL, n, TIMESTAMPTZOID);
		params[7] = array_of(cols[3], NULL, n, pprof_type);
		params[8] = array_of(cols[4], NULL, n, INT4OID);
		params[9] = array_of(cols[5], NULL, n, INT8OID);
		params[10] = array_of(cols[6], NULL, n, TEXTOID);
		params[11] = array_of(cols[7], NULL, n, TEXTOID);
		params[12] = array_of(cols[8], NULL, n, INT4OID);

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		plan = get_insert_plan(rel, pprof_array);
		rc = SPI_execute_plan(plan, params, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "the profiles INSERT failed: %s", SPI_result_code_string(rc));
		if (SPI_processed != (uint64) n)
			elog(ERROR, "the profiles INSERT stored " UINT64_FORMAT " rows of %d", SPI_processed, n);
		SPI_finish();
	}

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int i = 0; i < n; i++)
	{
		bool		nonull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &rows[i].id, &nonull);
	}
	return (Datum) 0;
}
