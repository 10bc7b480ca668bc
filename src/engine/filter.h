/*-------------------------------------------------------------------------
 *
 * pprof_filter.h
 *	  pprof's sample filters (-focus -ignore -hide -show -show_from
 *	  -tagfocus -tagignore -prune_from), in the CLI's order (plain C).
 *
 * src/pprof_filter.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_FILTER_H
#define PPROF_FILTER_H

#include "profile.h"

/* An unanchored regular expression search; the caller supplies the engine. */
typedef struct PprofRegex
{
	bool		(*match) (void *ctx, PprofStr s);
	void	   *ctx;
} PprofRegex;

/* A tag filter: [key=]value, value being a numeric range or regexes. */
typedef struct PprofTagFilter
{
	bool		present;
	PprofStr	key;			/* empty: any key */
	bool		numeric;
	bool		has_lo,
				has_hi;
	double		lo,				/* in `unit` */
				hi;
	char		unit[16];		/* pprof's canonical unit of the range, or "" */
	PprofRegex *regexes;		/* the comma-separated regexes */
	int			n_regexes;
} PprofTagFilter;

typedef struct PprofFilter
{
	PprofRegex *focus,
			   *ignore,
			   *hide,
			   *show,
			   *show_from,
			   *prune_from;
	PprofTagFilter tagfocus,
				tagignore;
} PprofFilter;

/*
 * Parses a tag filter's text. A value like "N", "N:", ":N" or "N:M" is a
 * numeric range; anything else is a comma-separated list of regexes, which
 * the caller compiles (compile is called once per regex and reports its
 * own errors). Numbers may carry units (1kb, 10ms), converted as pprof's
 * measurement package converts them. Returns false with *why set when the
 * two ends of a range have units of different kinds.
 */
extern bool pprof_tagfilter_parse(const PprofEnv *env, const char *text, PprofTagFilter *out,
								  PprofRegex *(*compile) (void *arg, const char *re, size_t len),
								  void *arg, const char **why);

/*
 * Applies the filters to a decoded profile in place (the profile's arrays
 * are replaced by filtered copies from env). The result is still a valid
 * profile model; merging it compacts away what no sample references.
 */
extern void pprof_filter_apply(const PprofEnv *env, PprofProfile *p, const PprofFilter *f);

#endif							/* PPROF_FILTER_H */
