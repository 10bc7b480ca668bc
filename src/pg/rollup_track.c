/*-------------------------------------------------------------------------
 *
 * rollup_track.c
 *	  rollup_track_inserts in C (0.8.0): the statement trigger that keeps
 *	  rollups exact when profiles arrive for hours already rolled up.
 *
 * What it does is 0.7.0's plpgsql trigger's: for every distinct UTC hour
 * of the statement's new non-trace rows, in order, the hour's advisory lock
 * shared (refresh_rollups takes it alone while it builds the hour); then,
 * with the clock read after the locks, each (tenant, service, type, hour)
 * of the rows older than the rolled-up horizon (the hour before
 * now - profefe.rollup_delay) gets a rollup_dirty marker. The markers are
 * rare (a late profile); the locks are every save's, and in plpgsql they
 * cost a third of a save_profiles call: two queries over the transition
 * table and a PERFORM a hour. Here the rows are read from the transition
 * table directly and the rare markers are written by one SPI statement.
 *
 * With the argument 'closed-unlocked' (0.10.0's trigger) hours that are
 * closed when it starts take no lock: see below; and each marker lists the
 * ids it stands for (profile_ids), so that rollup_add_hour can add just
 * those profiles to their label sets' rollups.
 *
 * src/pg/rollup_track.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "catalog/pg_collation.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "profefe.h"

PG_FUNCTION_INFO_V1(profefe_rollup_track_inserts);

static int
cmp_ts(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return x < y ? -1 : x > y;
}

/* date_trunc('hour', t, 'UTC') */
static TimestampTz
utc_hour(TimestampTz t)
{
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_trunc_zone,
												   CStringGetTextDatum("hour"),
												   TimestampTzGetDatum(t),
												   CStringGetTextDatum("UTC")));
}

/* rollup_hour_lock(hour): the hour's number since 1970, as an int */
static int32
hour_lock_key(TimestampTz hour)
{
	int64		secs;
	int64		key;

	if (TIMESTAMP_NOT_FINITE(hour))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("integer out of range")));
	secs = hour / USECS_PER_SEC + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	key = secs / 3600;
	if (key < PG_INT32_MIN || key > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("integer out of range")));
	return (int32) key;
}

/* The rolled-up horizon: date_trunc('hour', clock_timestamp() - profefe.rollup_delay, 'UTC'). */
static TimestampTz
rolled_up_before(void)
{
	const char *delay = profefe_rollup_delay && profefe_rollup_delay[0] ? profefe_rollup_delay : "10 minutes";
	Datum		iv = DirectFunctionCall3(interval_in, CStringGetDatum(delay), ObjectIdGetDatum(InvalidOid),
										 Int32GetDatum(-1));
	Datum		t = DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(GetCurrentTimestamp()), iv);

	return utc_hour(DatumGetTimestampTz(t));
}

static const char *const mark_dirty =
"INSERT INTO profefe.rollup_dirty (tenant, service, type, hour) "
"SELECT DISTINCT n.tenant, n.service, n.type, date_trunc('hour', n.created_at, 'UTC') "
"FROM new_rows n WHERE n.type <> 'trace' AND n.created_at < $1";

/* 0.10.0's: the markers list the ids saved, so that rollup_add_hour can add just them */
static const char *const mark_dirty_ids =
"INSERT INTO profefe.rollup_dirty (tenant, service, type, hour, profile_ids) "
"SELECT n.tenant, n.service, n.type, date_trunc('hour', n.created_at, 'UTC'), array_agg(n.profile_id) "
"FROM new_rows n WHERE n.type <> 'trace' AND n.created_at < $1 GROUP BY 1, 2, 3, 4";

/* rollup_track_inserts() RETURNS trigger: AFTER INSERT ... FOR EACH STATEMENT, NEW TABLE new_rows */
Datum
profefe_rollup_track_inserts(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Tuplestorestate *rows;
	TupleDesc	desc;
	TupleTableSlot *slot;
	int			at_type,
				at_time,
				ptr;
	TimestampTz *hours;
	int			n = 0,
				cap = 16;
	TimestampTz oldest = DT_NOEND;
	TimestampTz unlocked_before;
	bool		unlocked;
	Datum		lock_space;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event) || td->tg_newtable == NULL)
		elog(ERROR, "rollup_track_inserts must run AFTER INSERT FOR EACH STATEMENT with a NEW TABLE");
	rows = td->tg_newtable;
	desc = RelationGetDescr(td->tg_relation);
	at_type = SPI_fnumber(desc, "type");
	at_time = SPI_fnumber(desc, "created_at");
	if (at_type <= 0 || at_time <= 0)
		elog(ERROR, "rollup_track_inserts needs the columns type and created_at");

	/* the hours of the new non-trace rows, read with a pointer of our own */
	hours = palloc(sizeof(TimestampTz) * cap);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	ptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(rows, ptr);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		isnull;
		Datum		type = slot_getattr(slot, at_type, &isnull);
		TimestampTz t;

		CHECK_FOR_INTERRUPTS();
		if (isnull || strcmp(TextDatumGetCString(type), "trace") == 0)
			continue;
		t = DatumGetTimestampTz(slot_getattr(slot, at_time, &isnull));
		if (isnull)
			continue;
		if (n == cap)
		{
			cap *= 2;
			hours = repalloc(hours, sizeof(TimestampTz) * cap);
		}
		hours[n++] = utc_hour(t);
		if (t < oldest)
			oldest = t;
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_select_read_pointer(rows, 0);
	if (n == 0)
		return PointerGetDatum(NULL);

	/*
	 * 'closed-unlocked' (0.10.0): hours closed already, by the clock read
	 * before any lock, take none. Their builds delete the markers they saw
	 * in the statement that merges the profiles, so a marker committed with
	 * a profile the build did not see survives it; a save into a closed
	 * hour no longer waits for that hour's rebuild. Open hours keep the
	 * lock: they get no marker, and a refresh may close and build one
	 * before this save commits.
	 */
	unlocked_before = DT_NOBEGIN;
	unlocked = td->tg_trigger->tgnargs > 0 && strcmp(td->tg_trigger->tgargs[0], "closed-unlocked") == 0;
	if (unlocked)
		unlocked_before = rolled_up_before();

	qsort(hours, n, sizeof(TimestampTz), cmp_ts);
	lock_space = DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID, CStringGetTextDatum("profefe.rollups"));
	for (int i = 0; i < n; i++)
	{
		if ((i > 0 && hours[i] == hours[i - 1]) || hours[i] < unlocked_before)
			continue;
		DirectFunctionCall2(pg_advisory_xact_lock_shared_int4, lock_space, Int32GetDatum(hour_lock_key(hours[i])));
	}

	/* the clock after the locks: a refresh that built an hour has committed by now */
	{
		TimestampTz horizon = rolled_up_before();

		if (oldest < horizon)
		{
			Oid			argtypes[1] = {TIMESTAMPTZOID};
			Datum		args[1] = {TimestampTzGetDatum(horizon)};
			int			rc;

			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
				elog(ERROR, "could not register the new rows");
			rc = SPI_execute_with_args(unlocked ? mark_dirty_ids : mark_dirty, 1, argtypes, args, NULL, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "marking rolled-up hours dirty failed: %s", SPI_result_code_string(rc));
			SPI_finish();
		}
	}
	return PointerGetDatum(NULL);
}
