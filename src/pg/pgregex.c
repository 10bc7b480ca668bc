/*-------------------------------------------------------------------------
 *
 * pgregex.c
 *	  PostgreSQL's regular expression engine (ARE) as the engine's regex
 *	  interface (engine/filter.h): profile strings are matched in the
 *	  database encoding.
 *
 * src/pg/pgregex.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "catalog/pg_collation.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "pgregex.h"
#include "profefe.h"

/* An unanchored search with PostgreSQL's regex engine. */
bool
pprof_pg_regex_match(void *ctx, PprofStr s)
{
	regex_t    *re = ctx;
	text	   *t = pprof_string_to_text(s);	/* valid in the database encoding */
	int			len = VARSIZE_ANY_EXHDR(t);
	pg_wchar   *w = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(VARDATA_ANY(t), w, len);
	int			rc = pg_regexec(re, w, wlen, 0, NULL, 0, NULL, 0);

	pfree(w);
	if (rc == REG_CANCEL)
		CHECK_FOR_INTERRUPTS();
	if (rc != REG_OKAY && rc != REG_NOMATCH)
	{
		char		msg[256];

		pg_regerror(rc, re, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("regular expression failed: %s", msg)));
	}
	return rc == REG_OKAY;
}

PprofRegex
pprof_pg_regex_cached(text *pattern)
{
	PprofRegex	r;

	/* compiled once per backend and kept in PostgreSQL's own cache */
	r.ctx = RE_compile_and_cache(pattern, REG_ADVANCED, C_COLLATION_OID);
	r.match = pprof_pg_regex_match;
	return r;
}
