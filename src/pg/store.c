/*-------------------------------------------------------------------------
 *
 * store.c
 *	  The C functions of the profile store: profile ids, and the one-decode
 *	  validation save_profile runs on what a client sends.
 *
 * Profile ids are 20 characters of base32hex (0-9, a-v), URL-safe, sorting
 * by creation time: 4 bytes of Unix seconds (big endian) followed by 8
 * random bytes, the shape of the xid ids profefe's collector used.
 *
 * src/pg/store.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "profefe.h"

PG_FUNCTION_INFO_V1(profefe_new_id);
PG_FUNCTION_INFO_V1(profefe_id_time);
PG_FUNCTION_INFO_V1(pprof_ingest);
PG_FUNCTION_INFO_V1(pprof_accept);
PG_FUNCTION_INFO_V1(profefe_outer_role);

/*
 * profefe_outer_role() RETURNS oid: the role in effect outside any
 * SECURITY DEFINER function (the session user, or the one SET ROLE chose).
 * current_tenant() asks it who is calling: inside a SECURITY DEFINER
 * function current_user is the function's owner.
 */
Datum
profefe_outer_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

/* A new profile id for a profile created at ts (profefe_new_id, save_profiles). */
text *
profefe_make_id(TimestampTz ts)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
	uint8		raw[12];
	char		out[21];
	int64		secs;
	uint32		s32;
	uint64		acc = 0;
	int			bits = 0,
				n = 0;

	secs = ts / USECS_PER_SEC + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	s32 = secs < 0 ? 0 : secs > (int64) UINT32_MAX ? UINT32_MAX : (uint32) secs;
	raw[0] = (uint8) (s32 >> 24);
	raw[1] = (uint8) (s32 >> 16);
	raw[2] = (uint8) (s32 >> 8);
	raw[3] = (uint8) s32;
	if (!pg_strong_random(raw + 4, 8))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random profile id")));
	/* 96 bits, most significant first, 5 at a time (the last group padded) */
	for (int i = 0; i < 12; i++)
	{
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5)
		{
			out[n++] = digits[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[n++] = digits[(acc << (5 - bits)) & 31];
	out[n] = '\0';
	return cstring_to_text(out);
}

/* profefe_new_id(created_at timestamptz) RETURNS text */
Datum
profefe_new_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(profefe_make_id(PG_GETARG_TIMESTAMPTZ(0)));
}

/*
 * profefe_id_time(profile_id text) RETURNS timestamptz: the creation second
 * a profile id carries (its first 32 bits), or NULL for a string that is
 * not a profile id (20 characters of base32hex). Packed profiles are found
 * by it (profile_by_id).
 */
Datum
profefe_id_time(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *p = VARDATA_ANY(t);
	uint64		acc = 0;

	if (VARSIZE_ANY_EXHDR(t) != 20)
		PG_RETURN_NULL();
	for (int i = 0; i < 20; i++)
	{
		int			d;

		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'v')
			d = p[i] - 'a' + 10;
		else
			PG_RETURN_NULL();
		if (i < 7)
			acc = (acc << 5) | (uint64) d;		/* 35 bits: the 32 of the time first */
	}
	PG_RETURN_TIMESTAMPTZ((TimestampTz) ((int64) (acc >> 3) -
										 (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) * USECS_PER_SEC);
}

/*
 * pprof_ingest(data bytea, OUT profile pprof, OUT time, OUT sample_count):
 * bytea::pprof and pprof_summary of the result from a single decode.
 */
Datum
pprof_ingest(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int64		time_nanos,
				n_sample;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = PointerGetDatum(pprof_make_value_summary((const uint8_t *) VARDATA_ANY(b),
														 VARSIZE_ANY_EXHDR(b), &time_nanos, &n_sample));
	if (time_nanos == 0)
		nulls[1] = true;
	else
		values[1] = TimestampTzGetDatum(pprof_nanos_to_timestamptz(time_nanos));
	values[2] = Int64GetDatum(n_sample);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * pprof_accept(data bytea, OUT profile pprof, OUT time, OUT sample_count,
 * OUT sample_types text[], OUT totals bigint[], OUT default_type int
 * [, OUT max_depth bigint]): what save_profile stores, from a single decode
 * (0.3.0; 0.5.0 adds max_depth; pprof_ingest is 0.2.0's and stays for
 * databases not updated yet).
 */
Datum
pprof_accept(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	ProfileFacts facts;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	/* 0.3.0 and 0.4.0 declare six columns; 0.5.0 adds max_depth */
	if (tupdesc->natts != 6 && tupdesc->natts != 7)
		elog(ERROR, "pprof_accept must return 6 or 7 columns");
	values[0] = PointerGetDatum(pprof_make_value_facts((const uint8_t *) VARDATA_ANY(b),
													   VARSIZE_ANY_EXHDR(b), &facts, true));
	if (facts.time_nanos == 0)
		nulls[1] = true;
	else
		values[1] = TimestampTzGetDatum(pprof_nanos_to_timestamptz(facts.time_nanos));
	values[2] = Int64GetDatum(facts.n_sample);
	values[3] = facts.sample_types;
	values[4] = facts.totals;
	values[5] = Int32GetDatum(facts.default_type);
	nulls[5] = facts.default_type == 0;
	values[6] = Int64GetDatum(facts.max_depth);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
