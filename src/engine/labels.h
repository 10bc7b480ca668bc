/*-------------------------------------------------------------------------
 *
 * labels.h
 *	  A sample's labels the way Go's profile package holds them after
 *	  decoding: string labels and numeric labels (with an optional unit) by
 *	  key, each key's values in the order the sample lists them, labels
 *	  with neither a string, a number nor a unit dropped.
 *
 * src/engine/labels.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_LABELS_H
#define PPROF_LABELS_H

#include "profile.h"

/* One key of a sample and its labels, in order. */
typedef struct PprofLabelRun
{
	PprofStr	key;
	const PprofLabel **labels;
	uint32_t	n;
} PprofLabelRun;

/*
 * The labels of sample s grouped by key, keys in byte order; *runs (from
 * env) holds the returned number of runs.
 */
extern size_t pprof_sample_label_runs(const PprofEnv *env, const PprofProfile *p, size_t s,
									  PprofLabelRun **runs);

/* A string label (Go decodes a label with a non-zero string index as one)? */
static inline bool
pprof_label_is_string(const PprofLabel *l)
{
	return l->str != 0;
}

/* A numeric label's unit; empty when it has none (or names an empty string). */
static inline PprofStr
pprof_label_unit(const PprofProfile *p, const PprofLabel *l)
{
	return pprof_str(p, l->num_unit);
}

#endif							/* PPROF_LABELS_H */
