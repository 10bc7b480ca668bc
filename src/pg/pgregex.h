/*-------------------------------------------------------------------------
 *
 * pgregex.h
 *	  PostgreSQL's regex engine behind the engine's PprofRegex (pgregex.c).
 *
 * src/pg/pgregex.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_PGREGEX_H
#define PROFEFE_PGREGEX_H

#include "postgres.h"

#include "regex/regex.h"

#include "engine/filter.h"

/* An unanchored search; ctx is a regex_t. Errors are ERRORs (2201B). */
extern bool pprof_pg_regex_match(void *ctx, PprofStr s);

/*
 * The pattern compiled through PostgreSQL's per-backend cache of compiled
 * expressions (RE_compile_and_cache): nothing to free, and compiled once for
 * a query that uses it on every row. An invalid pattern is an ERROR (2201B).
 */
extern PprofRegex pprof_pg_regex_cached(text *pattern);

#endif							/* PROFEFE_PGREGEX_H */
