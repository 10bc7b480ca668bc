/*-------------------------------------------------------------------------
 *
 * pg_env.c
 *	  The engine inside the server: palloc-backed allocation, interrupt
 *	  checks, engine errors as ERRORs with their SQLSTATEs, and converting
 *	  between pprof datums, decoded profiles and SQL values.
 *
 * src/pg/pg_env.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "engine/gzip.h"
#include "engine/store.h"
#include "profefe.h"

/*
 * zstd's contexts, made once per backend and kept (they cost more to make
 * than a small profile costs to compress). zstd mallocs them and never
 * calls back into the server, so an ERROR cannot leave them half-used.
 */
static PprofZstd backend_zstd;

static void *
pg_codec_alloc(void *cxt, size_t size)
{
	CHECK_FOR_INTERRUPTS();
	if (size > MaxAllocSize)
		return MemoryContextAllocHuge((MemoryContext) cxt, size);
	return MemoryContextAlloc((MemoryContext) cxt, size);
}

static void
pg_codec_free(void *cxt, void *p)
{
	pfree(p);
}

static void
pg_codec_tick(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

static void
pg_codec_fail(void *arg, const PprofError *err)
{
	pprof_report(err);
}

void
pprof_env_init(PprofEnv *env)
{
	env->alloc.alloc = pg_codec_alloc;
	env->alloc.free = pg_codec_free;
	env->alloc.ctx = CurrentMemoryContext;
	env->tick = pg_codec_tick;
	env->tick_arg = NULL;
	env->fail = pg_codec_fail;
	env->fail_arg = NULL;
	env->max_size = PROFEFE_MAX_DECODED;
	env->zstd = &backend_zstd;
}

/* The error of a profile a client sent: a size refusal names the setting. */
static void
report_input(const PprofError *err)
{
	if (err->status == PPROF_TOO_LARGE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("pprof profile exceeds the size limit"),
				 errdetail("%s", err->detail),
				 errhint("The limit is set by profefe.max_profile_size.")));
	pprof_report(err);
}

void
pprof_report(const PprofError *err)
{
	switch (err->status)
	{
		case PPROF_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("pprof profile exceeds the size limit"),
					 errdetail("%s", err->detail)));
			break;
		case PPROF_OVERFLOW:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("profile values are out of range for type bigint"),
					 errdetail("%s", err->detail)));
			break;
		case PPROF_INCOMPATIBLE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot combine profiles of different types"),
					 errdetail("%s", err->detail)));
			break;
		case PPROF_NO_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("%s", err->detail)));
			break;
		case PPROF_INTERNAL:
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("internal error in profefe's pprof engine"),
					 errdetail("%s", err->detail)));
			break;
		case PPROF_OK:
		case PPROF_MALFORMED:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid pprof profile"),
			 errdetail("%s", err->detail)));
}

void
pprof_decode_datum(bytea *value, PprofProfile *out)
{
	PprofEnv	env;
	PprofError	err;

	pprof_env_init(&env);
	if (pprof_store_decode(&env, (const uint8_t *) VARDATA_ANY(value),
						   VARSIZE_ANY_EXHDR(value), out, &err) != PPROF_OK)
		pprof_report(&err);
}

/* Copies codec output into a new varlena in the caller's context. */
static bytea *
make_bytea(const uint8_t *data, size_t len)
{
	bytea	   *result;

	if (len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("pprof profile exceeds the size limit"),
				 errdetail("The encoded profile takes %zu bytes.", len)));
	result = palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), data, len);
	return result;
}

bytea *
pprof_make_value(const uint8_t *data, size_t len)
{
	return pprof_make_value_summary(data, len, NULL, NULL);
}

/*
 * Validates a received profile and returns its stored form; with non-NULL
 * out arguments also its time_nanos and sample count (save_profile needs
 * them, and one decode is a third of the cost of a small save).
 */
bytea *
pprof_make_value_summary(const uint8_t *data, size_t len, int64 *time_nanos, int64 *n_sample)
{
	ProfileFacts facts;
	bytea	   *result = pprof_make_value_facts(data, len, &facts, false);

	if (time_nanos)
		*time_nanos = facts.time_nanos;
	if (n_sample)
		*n_sample = facts.n_sample;
	return result;
}

/*
 * Validates a received profile and returns its stored form, with the facts
 * the store keeps beside it (one decode is a third of the cost of a small
 * save). With totals, also the per-type totals as SQL arrays, made in the
 * caller's context.
 */
bytea *
pprof_make_value_facts(const uint8_t *data, size_t len, ProfileFacts *facts, bool totals)
{
	MemoryContext tmp;
	MemoryContext old;
	PprofEnv	env;
	PprofError	err;
	PprofProfile prof;
	uint8_t    *stored;
	size_t		stored_len;
	bytea	   *result;

	/* Decode in a scratch context: only the stored bytes survive. */
	tmp = AllocSetContextCreate(CurrentMemoryContext, "profefe decode",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	pprof_env_init(&env);
	env.max_size = (size_t) profefe_max_profile_size;
	if (pprof_decode(&env, data, len, &prof, &err) != PPROF_OK)
		report_input(&err);
	/* a small profile's gzip as received; zstd for the rest (store.h) */
	if (prof.gzip_whole && prof.raw_size <= PPROF_STORE_KEEP_MAX
		? pprof_store_keep(&env, data, len, &stored, &stored_len, &err) != PPROF_OK
		: pprof_store_pack(&env, prof.raw, prof.raw_size, PPROF_STORE_LEVEL,
						   &stored, &stored_len, &err) != PPROF_OK)
		report_input(&err);
	MemoryContextSwitchTo(old);
	facts->time_nanos = prof.time_nanos;
	facts->n_sample = (int64) prof.n_sample;
	facts->max_depth = 0;
	for (size_t i = 0; i < prof.n_sample; i++)
		if ((int64) prof.samples[i].n_loc > facts->max_depth)
			facts->max_depth = (int64) prof.samples[i].n_loc;
	if (totals)
		pprof_totals_datums(&prof, facts);
	result = make_bytea(stored, stored_len);
	MemoryContextDelete(tmp);
	return result;
}

/*
 * The sample type names, their totals (NULL where a sum overflows bigint)
 * and pprof's default sample type (1-based; NULL without sample types), as
 * datums in the current context.
 */
void
pprof_totals_datums(const PprofProfile *p, ProfileFacts *facts)
{
	size_t		n = p->n_sample_type;
	Datum	   *names = palloc((n + 1) * sizeof(Datum));
	Datum	   *sums = palloc((n + 1) * sizeof(Datum));
	bool	   *nulls = palloc((n + 1) * sizeof(bool));
	int64_t    *totals = palloc((n + 1) * sizeof(int64_t));
	bool	   *overflowed = palloc((n + 1) * sizeof(bool));
	int			dims[1] = {(int) n};
	int			lbs[1] = {1};

	pprof_sample_totals(p, totals, overflowed);
	for (size_t i = 0; i < n; i++)
	{
		names[i] = PointerGetDatum(pprof_string_to_text(pprof_str(p, p->sample_types[i].type)));
		sums[i] = Int64GetDatum(totals[i]);
		nulls[i] = overflowed[i];
	}
	facts->sample_types = PointerGetDatum(construct_array(names, (int) n, TEXTOID, -1, false, TYPALIGN_INT));
	facts->totals = PointerGetDatum(construct_md_array(sums, nulls, 1, dims, lbs, INT8OID, 8,
													   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	facts->default_type = n > 0 ? pprof_sample_index(p, NULL) + 1 : 0;
}

bytea *
pprof_pack_value(const uint8_t *raw, size_t len)
{
	PprofEnv	env;
	PprofError	err;
	uint8_t    *stored;
	size_t		stored_len;
	bytea	   *result;

	pprof_env_init(&env);
	if (pprof_store_pack(&env, raw, len, PPROF_STORE_LEVEL, &stored, &stored_len, &err) != PPROF_OK)
		pprof_report(&err);
	result = make_bytea(stored, stored_len);
	pprof_free(&env, stored);
	return result;
}

bytea *
pprof_to_gzip(bytea *value)
{
	MemoryContext tmp;
	MemoryContext old;
	PprofEnv	env;
	PprofError	err;
	uint8_t    *raw,
			   *gz;
	size_t		rawlen,
				gzlen;
	const uint8_t *kept;
	bytea	   *result;

	/* kept as received: those very bytes */
	if (pprof_store_gzip((const uint8_t *) VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), &kept, &gzlen))
		return make_bytea(kept, gzlen);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "profefe encode",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	pprof_env_init(&env);
	if (pprof_store_unpack(&env, (const uint8_t *) VARDATA_ANY(value),
						   VARSIZE_ANY_EXHDR(value), &raw, &rawlen, &err) != PPROF_OK ||
		pprof_gzip(&env, raw, rawlen, PROFEFE_GZIP_LEVEL, &gz, &gzlen, &err) != PPROF_OK)
		pprof_report(&err);
	MemoryContextSwitchTo(old);
	result = make_bytea(gz, gzlen);
	MemoryContextDelete(tmp);
	return result;
}

text *
pprof_string_to_text(PprofStr s)
{
	const char *p = (const char *) s.data;
	int			len = (int) s.len;
	StringInfoData buf;
	int			enc = GetDatabaseEncoding();

	if (len == 0)
		return cstring_to_text("");
	if (memchr(p, '\0', len) == NULL && pg_verifymbstr(p, len, true))
		return cstring_to_text_with_len(p, len);

	/* Replace NUL bytes and invalid sequences with '?', byte by byte. */
	initStringInfo(&buf);
	while (len > 0)
	{
		int			l = (*p == '\0') ? -1 : pg_encoding_verifymbchar(enc, p, len);

		if (l <= 0)
		{
			appendStringInfoChar(&buf, '?');
			p++;
			len--;
		}
		else
		{
			appendBinaryStringInfo(&buf, p, l);
			p += l;
			len -= l;
		}
	}
	return cstring_to_text_with_len(buf.data, buf.len);
}

int
pprof_lookup_sample_type(const PprofProfile *pb, const char *name)
{
	int			idx = pprof_sample_index(pb, name);

	if (idx < 0 && name != NULL)
	{
		StringInfoData list;

		initStringInfo(&list);
		for (size_t i = 0; i < pb->n_sample_type; i++)
		{
			text	   *t = pprof_string_to_text(pprof_str(pb, pb->sample_types[i].type));

			appendStringInfo(&list, "%s\"%s\"", i > 0 ? ", " : "", text_to_cstring(t));
		}
		if (pb->n_sample_type == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown sample type \"%s\"", name),
					 errdetail("The profile has no sample types.")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown sample type \"%s\"", name),
				 errdetail("The profile's sample types are %s.", list.data)));
	}
	return idx;
}

/* time_nanos as a timestamptz (floor to microseconds, like Go's time.Unix). */
TimestampTz
pprof_nanos_to_timestamptz(int64 ns)
{
	TimestampTz ts = ns / 1000 - (ns % 1000 < 0 ? 1 : 0);

	return ts - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}
