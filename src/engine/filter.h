/*-------------------------------------------------------------------------
 *
 * filter.h
 *	  pprof's sample filters, in the order the pprof CLI applies them
 *	  (driver applyFocus): FilterSamplesByName (-focus -ignore -hide -show,
 *	  filter.c), ShowFrom (-show_from, filter.c), FilterSamplesByTag
 *	  (-tagfocus -tagignore, tagfilter.c), PruneFrom (-prune_from, prune.c).
 *
 * Regular expressions are the caller's (the server uses PostgreSQL's
 * engine): the engine only asks whether one matches a string.
 *
 * src/engine/filter.h
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
 * Parses a tag filter's text (driver_focus.go's compileTagFilter). A value
 * like "N", "N:", ":N" or "N:M" is a numeric range; anything else is a
 * comma-separated list of regexes, which the caller compiles (compile is
 * called once per regex and reports its own errors). Numbers may carry
 * units (1kb, 10ms), converted as pprof's measurement package converts
 * them. Returns false with *why set when the two ends of a range have
 * units of different kinds.
 */
extern bool pprof_tagfilter_parse(const PprofEnv *env, const char *text, PprofTagFilter *out,
								  PprofRegex *(*compile) (void *arg, const char *re, size_t len),
								  void *arg, const char **why);

/*
 * Applies the filters to a decoded profile: the profile's arrays are
 * replaced by filtered copies from env (the originals are not changed).
 * The result is still a valid profile model; merging it compacts away what
 * no sample references.
 */
extern void pprof_filter_apply(const PprofEnv *env, PprofProfile *p, const PprofFilter *f);

/*
 * The total of sample type idx over the samples -focus=re keeps (a
 * location matching in a function name, file name or mapping file), without
 * building the filtered profile: what pprof_total(pprof_filter(p, focus))
 * gives. PPROF_OVERFLOW when the sum does not fit in 64 bits.
 */
extern PprofStatus pprof_total_focused(const PprofEnv *env, const PprofProfile *p, const PprofRegex *re,
									 int idx, int64_t *total, PprofError *err);

/* The stages, each as the Go method of the same name does it. */
extern void pprof_filter_by_name(const PprofEnv *env, PprofProfile *p, const PprofFilter *f);
extern void pprof_show_from(const PprofEnv *env, PprofProfile *p, const PprofRegex *re);
extern void pprof_filter_by_tag(const PprofEnv *env, PprofProfile *p, const PprofTagFilter *focus,
								const PprofTagFilter *ignore);
extern void pprof_prune_from(const PprofEnv *env, PprofProfile *p, const PprofRegex *re);

#endif							/* PPROF_FILTER_H */
