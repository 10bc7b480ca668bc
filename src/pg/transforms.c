/*-------------------------------------------------------------------------
 *
 * transforms.c
 *	  Whole-profile operations built on the engine's merger: pprof_scale,
 *	  pprof_diff and pprof_filter (with PostgreSQL's regular expressions
 *	  as the filters' engine).
 *
 * src/pg/transforms.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "engine/filter.h"
#include "engine/merge.h"
#include "pgregex.h"
#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_scale);
PG_FUNCTION_INFO_V1(pprof_diff);
PG_FUNCTION_INFO_V1(pprof_pgo);

static void
add_or_error(PprofMerger *m, PprofEnv *env, bytea *value, double ratio, bool diff_base)
{
	PprofProfile prof;
	PprofError	err;
	PprofStatus st;

	pprof_decode_datum(value, &prof);
	st = pprof_merger_add_scaled(m, env, &prof, ratio, diff_base, &err);
	if (st == PPROF_OVERFLOW)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("scaled profile values are out of range for type bigint"),
				 errdetail("%s", err.detail)));
	if (st == PPROF_INCOMPATIBLE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot compare profiles of different types"),
				 errdetail("%s", err.detail)));
	if (st != PPROF_OK)
		pprof_report(&err);
}

/* Encodes the merger into a new stored pprof value in the caller's context. */
static bytea *
finish(PprofMerger *m, MemoryContext caller)
{
	PprofEnv	env;
	PprofError	err;
	uint8_t    *raw;
	size_t		len;
	MemoryContext old;
	bytea	   *result;

	pprof_env_init(&env);
	if (pprof_merger_encode(m, &env, 1, &raw, &len, &err) != PPROF_OK)
		pprof_report(&err);
	old = MemoryContextSwitchTo(caller);
	result = pprof_pack_value(raw, len);
	MemoryContextSwitchTo(old);
	return result;
}

/*
 * pprof_scale(p, factor): every value times factor, rounded as pprof's
 * Scale does; samples left all zero are dropped and the result compacted.
 * A factor of 1 returns the profile as it is, as Go's Scale(1) does.
 */
Datum
pprof_scale(PG_FUNCTION_ARGS)
{
	bytea	   *p;
	double		factor = PG_GETARG_FLOAT8(1);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tmp;
	PprofEnv	env;
	PprofMerger *m;
	bytea	   *result;

	if (isnan(factor) || isinf(factor))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scale factor must be a finite number"),
				 errdetail("The factor given is %g.", factor)));
	if (factor == 1.0)
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	p = PG_GETARG_PPROF_P(0);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof_scale", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tmp);
	pprof_env_init(&env);
	m = pprof_merger_create(&env);
	add_or_error(m, &env, p, factor, false);
	result = finish(m, caller);
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(tmp);
	PG_RETURN_BYTEA_P(result);
}

/*
 * pprof_diff(p, base): `go tool pprof -diff_base base p` as a profile: the
 * base negated, its samples labelled pprof::base=true, merged with p.
 */
Datum
pprof_diff(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_PPROF_P(0);
	bytea	   *base = PG_GETARG_PPROF_P(1);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tmp;
	PprofEnv	env;
	PprofMerger *m;
	bytea	   *result;

	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof_diff", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tmp);
	pprof_env_init(&env);
	m = pprof_merger_create(&env);
	add_or_error(m, &env, p, 1.0, false);
	add_or_error(m, &env, base, -1.0, true);
	result = finish(m, caller);
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(tmp);
	PG_RETURN_BYTEA_P(result);
}

/* ---- pprof_filter ---- */

PG_FUNCTION_INFO_V1(pprof_filter);

#define MAX_FILTER_REGEXES 64

typedef struct PgRegex
{
	regex_t		re;
	bool		compiled;
} PgRegex;

typedef struct RegexSet
{
	PgRegex		rx[MAX_FILTER_REGEXES];
	PprofRegex	api[MAX_FILTER_REGEXES];
	int			n;
	const char *option;			/* for error messages */
} RegexSet;

static PprofRegex *
compile_regex(void *arg, const char *pattern, size_t len)
{
	RegexSet   *set = arg;
	pg_wchar   *w;
	int			wlen,
				rc;
	PgRegex    *r;

	if (set->n >= MAX_FILTER_REGEXES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many regular expressions in filters"),
				 errdetail("At most %d are allowed.", MAX_FILTER_REGEXES)));
	r = &set->rx[set->n];
	w = palloc((len + 1) * sizeof(pg_wchar));
	wlen = pg_mb2wchar_with_len(pattern, w, (int) len);
	rc = pg_regcomp(&r->re, w, wlen, REG_ADVANCED, C_COLLATION_OID);
	pfree(w);
	if (rc != REG_OKAY)
	{
		char		msg[256];

		pg_regerror(rc, &r->re, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression in %s: %s", set->option, msg),
				 errdetail("The expression is \"%.*s\".", (int) len, pattern)));
	}
	r->compiled = true;
	set->api[set->n].match = pprof_pg_regex_match;
	set->api[set->n].ctx = &r->re;
	return &set->api[set->n++];
}

static PprofRegex *
regex_arg(FunctionCallInfo fcinfo, int argno, RegexSet *set, const char *option)
{
	char	   *s;

	if (PG_ARGISNULL(argno))
		return NULL;
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (*s == '\0')
		return NULL;			/* as the CLI: an empty option is no filter */
	set->option = option;
	return compile_regex(set, s, strlen(s));
}

static void
tag_arg(FunctionCallInfo fcinfo, int argno, RegexSet *set, const char *option,
		const PprofEnv *env, PprofTagFilter *out)
{
	char	   *s;
	const char *why;

	memset(out, 0, sizeof(*out));
	if (PG_ARGISNULL(argno))
		return;
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (*s == '\0')
		return;
	set->option = option;
	if (!pprof_tagfilter_parse(env, s, out, compile_regex, set, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s range \"%s\"", option, s),
				 errdetail("%s", why)));
}

/*
 * pprof_filter(p, focus, ignore, hide, show, show_from, prune_from,
 *              tagfocus, tagignore): the samples the pprof CLI keeps with
 * those options, as a compacted profile.
 */
Datum
pprof_filter(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tmp;
	RegexSet   *set;
	bytea	   *result = NULL;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof_filter", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tmp);
	set = palloc0(sizeof(RegexSet));
	PG_TRY();
	{
		PprofEnv	env;
		PprofFilter f;
		PprofProfile prof;
		PprofMerger *m;
		PprofError	err;

		pprof_env_init(&env);
		memset(&f, 0, sizeof(f));
		f.focus = regex_arg(fcinfo, 1, set, "focus");
		f.ignore = regex_arg(fcinfo, 2, set, "ignore");
		f.hide = regex_arg(fcinfo, 3, set, "hide");
		f.show = regex_arg(fcinfo, 4, set, "show");
		f.show_from = regex_arg(fcinfo, 5, set, "show_from");
		f.prune_from = regex_arg(fcinfo, 6, set, "prune_from");
		tag_arg(fcinfo, 7, set, "tagfocus", &env, &f.tagfocus);
		tag_arg(fcinfo, 8, set, "tagignore", &env, &f.tagignore);

		pprof_decode_datum(PG_GETARG_PPROF_P(0), &prof);
		pprof_filter_apply(&env, &prof, &f);
		m = pprof_merger_create(&env);
		if (pprof_merger_add(m, &env, &prof, &err) != PPROF_OK)
			pprof_report(&err);
		result = finish(m, caller);
	}
	PG_FINALLY();
	{
		/* PostgreSQL's regex engine mallocs: free what was compiled */
		for (int i = 0; i < set->n; i++)
			if (set->rx[i].compiled)
				pg_regfree(&set->rx[i].re);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(tmp);
	PG_RETURN_BYTEA_P(result);
}

/*
 * pprof_pgo(p): the profile as Go's profile-guided optimization reads it
 * (default.pgo): labels dropped, so that samples of one stack become one,
 * then merged and compacted as Go's Merge leaves a profile (zero samples
 * and what only they referenced gone). Only a CPU profile: Go's compiler
 * reads samples/count or cpu/nanoseconds.
 */
Datum
pprof_pgo(PG_FUNCTION_ARGS)
{
	bytea	   *p = PG_GETARG_PPROF_P(0);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tmp;
	PprofEnv	env;
	PprofError	err;
	PprofProfile prof,
				view;
	PprofMerger *m;
	bool		cpu = false;
	bytea	   *result;

	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof_pgo", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tmp);
	pprof_decode_datum(p, &prof);
	for (size_t i = 0; i < prof.n_sample_type; i++)
	{
		PprofStr	t = pprof_str(&prof, prof.sample_types[i].type);
		PprofStr	u = pprof_str(&prof, prof.sample_types[i].unit);

		if ((pprof_str_is(t, "samples") && pprof_str_is(u, "count")) ||
			(pprof_str_is(t, "cpu") && pprof_str_is(u, "nanoseconds")))
			cpu = true;
	}
	if (!cpu)
	{
		StringInfoData types;

		initStringInfo(&types);
		for (size_t i = 0; i < prof.n_sample_type; i++)
		{
			PprofStr	t = pprof_str(&prof, prof.sample_types[i].type);
			PprofStr	u = pprof_str(&prof, prof.sample_types[i].unit);

			appendStringInfo(&types, "%s%.*s/%.*s", i ? ", " : "", (int) t.len, (const char *) t.data, (int) u.len, (const char *) u.data);
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("profile-guided optimization needs a CPU profile"),
				 errdetail("Go's compiler reads the sample type samples/count or cpu/nanoseconds; this profile has %s.",
						   types.len ? types.data : "none")));
	}
	view = prof;
	view.samples = palloc(sizeof(PprofSample) * (prof.n_sample > 0 ? prof.n_sample : 1));
	for (size_t i = 0; i < prof.n_sample; i++)
	{
		view.samples[i] = prof.samples[i];
		view.samples[i].n_label = 0;
	}
	pprof_env_init(&env);
	m = pprof_merger_create(&env);
	if (pprof_merger_add(m, &env, &view, &err) != PPROF_OK)
		pprof_report(&err);
	result = finish(m, caller);
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(tmp);
	PG_RETURN_BYTEA_P(result);
}
