/*-------------------------------------------------------------------------
 *
 * profefe.c
 *	  Module entry point, settings, and the server glue around the codec:
 *	  palloc-backed allocators, interrupt checks and error reporting.
 *
 * src/profefe.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "profefe.h"

PG_MODULE_MAGIC;

/* Default cap on a decompressed profile: 256MB. */
int			profefe_max_profile_size = 256 * 1024 * 1024;

/* profefe.retention, read by apply_retention() */
char	   *profefe_retention = NULL;

/*
 * gzip level of profiles handed out (pprof::bytea, text and binary output):
 * fast, like Go's runtime/pprof. zstd level of stored profiles: zstd's
 * default, which beat gzip -6 in size on every corpus file.
 */
#define PROFEFE_GZIP_LEVEL 1
#define PROFEFE_ZSTD_LEVEL 3

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("profefe.max_profile_size",
							"Largest decompressed profile profefe will decode.",
							"Inputs that inflate past this are rejected before "
							"they can use more memory.",
							&profefe_max_profile_size,
							256 * 1024 * 1024,
							1024,
							(int) (MaxAllocSize - 1),
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.retention",
							   "How long stored profiles are kept.",
							   "apply_retention() drops partitions and deletes profiles older "
							   "than this interval.",
							   &profefe_retention,
							   "5 days",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("profefe");
}

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

void
pprof_env_init(PprofEnv *env)
{
	env->alloc.alloc = pg_codec_alloc;
	env->alloc.free = pg_codec_free;
	env->alloc.allocator_data = CurrentMemoryContext;
	env->tick = pg_codec_tick;
	env->tick_arg = NULL;
	env->max_size = (size_t) profefe_max_profile_size;
}

void
pprof_report(const PprofError *err)
{
	if (err->status == PPROF_TOO_LARGE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("pprof profile exceeds the size limit"),
				 errdetail("%s", err->detail),
				 errhint("The limit is set by profefe.max_profile_size.")));
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
	if (pprof_decode(&env, data, len, &prof, &err) != PPROF_OK ||
		pprof_store_pack(&env, prof.raw, prof.raw_size, PROFEFE_ZSTD_LEVEL,
						 &stored, &stored_len, &err) != PPROF_OK)
		pprof_report(&err);
	MemoryContextSwitchTo(old);
	if (time_nanos)
		*time_nanos = prof.time_nanos;
	if (n_sample)
		*n_sample = (int64) prof.n_sample;
	result = make_bytea(stored, stored_len);
	MemoryContextDelete(tmp);
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
	bytea	   *result;

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
