/*-------------------------------------------------------------------------
 *
 * pack.c
 *	  SQL functions over packs (engine/pack.h): pprof_pack builds one from
 *	  stored profiles, pprof_unpack_at reads one profile back out of it.
 *
 * The store reads a pack's profiles one row at a time (profiles_in, in
 * SQL), so pprof_unpack_at keeps the last pack it opened, decompressed,
 * in fn_extra: every profile of a pack costs one decompression of the
 * pack per query, not one each. The key is the value's TOAST pointer
 * (relation and value id) when it is stored out of line, else its bytes.
 *
 * src/pg/pack.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "engine/pack.h"
#include "engine/store.h"
#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_pack);
PG_FUNCTION_INFO_V1(pprof_unpack_at);
PG_FUNCTION_INFO_V1(pprof_pack_count);

/* A pack engine error: damage is data_corrupted, the rest as pprof_report says. */
static void
report_pack(const PprofError *err)
{
	if (err->status == PPROF_MALFORMED)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid profile pack"),
				 errdetail("%s", err->detail)));
	pprof_report(err);
}

/*
 * pprof_pack(profiles pprof[]) RETURNS bytea: the pack of the profiles, in
 * the array's order.
 */
Datum
pprof_pack(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	MemoryContext tmp,
				old;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	const uint8_t **raws;
	size_t	   *lens;
	PprofEnv	env;
	PprofError	err;
	uint8_t    *out;
	size_t		outlen;
	bytea	   *result;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("profiles must be a one-dimensional array"),
				 errdetail("The array given has %d dimensions.", ARR_NDIM(arr))));
	tmp = AllocSetContextCreate(CurrentMemoryContext, "profefe pack", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign, &elems, &nulls, &n);
	raws = palloc0(sizeof(*raws) * Max(n, 1));
	lens = palloc0(sizeof(*lens) * Max(n, 1));
	pprof_env_init(&env);
	for (i = 0; i < n; i++)
	{
		bytea	   *v;
		uint8_t    *raw;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("cannot pack a null profile"),
					 errdetail("Element %d of the array is null.", i + 1)));
		v = DatumGetPprofP(elems[i]);
		if (pprof_store_unpack(&env, (const uint8_t *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v),
							   &raw, &lens[i], &err) != PPROF_OK)
			pprof_report(&err);
		raws[i] = raw;
		CHECK_FOR_INTERRUPTS();
	}
	if (pprof_pack_build(&env, raws, lens, (uint32_t) n, profefe_pack_level,
						 profefe_pack_split ? 0 : PPROF_PACK_PLAIN, &out, &outlen, &err) != PPROF_OK)
		report_pack(&err);
	MemoryContextSwitchTo(old);
	if (outlen > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("profile pack exceeds the size limit"),
				 errdetail("The pack takes %zu bytes.", outlen)));
	result = palloc(VARHDRSZ + outlen);
	SET_VARSIZE(result, VARHDRSZ + outlen);
	memcpy(VARDATA(result), out, outlen);
	MemoryContextDelete(tmp);
	PG_RETURN_BYTEA_P(result);
}

/* The pack pprof_unpack_at opened last (in fn_extra). */
typedef struct PackCache
{
	MemoryContext cxt;			/* holds what follows; reset for each new pack */
	bool		valid;
	Oid			toastrelid;		/* the key: a TOAST pointer's relation and value */
	Oid			valueid;
	bytea	   *bytes;			/* or the bytes of an inline value */
	PprofPack	pack;
} PackCache;

static PackCache *
open_cached(FunctionCallInfo fcinfo)
{
	PackCache  *c = (PackCache *) fcinfo->flinfo->fn_extra;
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(0);
	Oid			relid = InvalidOid,
				valueid = InvalidOid;
	bytea	   *v = NULL;
	MemoryContext old;
	PprofEnv	env;
	PprofError	err;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(*c));
		c->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "profefe unpack", ALLOCSET_DEFAULT_SIZES);
		fcinfo->flinfo->fn_extra = c;
	}
	if (VARATT_IS_EXTERNAL_ONDISK(raw))
	{
		struct varatt_external ptr;

		VARATT_EXTERNAL_GET_POINTER(ptr, raw);
		relid = ptr.va_toastrelid;
		valueid = ptr.va_valueid;
		if (c->valid && c->bytes == NULL && c->toastrelid == relid && c->valueid == valueid)
			return c;
	}
	else
	{
		v = PG_GETARG_BYTEA_PP(0);
		if (c->valid && c->bytes != NULL && VARSIZE_ANY_EXHDR(c->bytes) == VARSIZE_ANY_EXHDR(v) &&
			memcmp(VARDATA_ANY(c->bytes), VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)) == 0)
			return c;
	}
	c->valid = false;
	MemoryContextReset(c->cxt);
	old = MemoryContextSwitchTo(c->cxt);
	if (v == NULL)
		v = (bytea *) detoast_external_attr(raw);
	else
	{
		bytea	   *copy = palloc(VARSIZE_ANY(v));

		memcpy(copy, v, VARSIZE_ANY(v));
		c->bytes = copy;
	}
	pprof_env_init(&env);
	if (pprof_pack_open(&env, (const uint8_t *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), &c->pack, &err) != PPROF_OK)
		report_pack(&err);
	if (c->bytes == NULL)
		pfree(v);				/* only the decompressed content is needed */
	MemoryContextSwitchTo(old);
	c->toastrelid = relid;
	c->valueid = valueid;
	c->valid = true;
	return c;
}

/*
 * pprof_unpack_at(pack bytea, n int) RETURNS pprof: the pack's n-th
 * profile (1-based), as it went in (its protobuf, not its gzip bytes).
 */
Datum
pprof_unpack_at(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(1);
	PackCache  *c = open_cached(fcinfo);
	const uint8_t *raw;
	size_t		len;
	bytea	   *result;

	if (n < 1 || (uint32) n > c->pack.count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pack position out of range"),
				 errdetail("The pack holds %u profiles; profile %d was asked for.", c->pack.count, n)));
	pprof_pack_entry(&c->pack, (uint32) (n - 1), &raw, &len);
	result = palloc(VARHDRSZ + PPROF_STORE_HDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + PPROF_STORE_HDRSZ + len);
	((uint8_t *) VARDATA(result))[0] = PPROF_STORE_RAW;
	((uint8_t *) VARDATA(result))[1] = 0;
	memcpy((uint8_t *) VARDATA(result) + PPROF_STORE_HDRSZ, raw, len);
	PG_RETURN_BYTEA_P(result);
}

/* pprof_pack_count(pack bytea) RETURNS int: how many profiles the pack holds (checking it whole). */
Datum
pprof_pack_count(PG_FUNCTION_ARGS)
{
	PackCache  *c = open_cached(fcinfo);

	PG_RETURN_INT32((int32) c->pack.count);
}
