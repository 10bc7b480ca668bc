/*-------------------------------------------------------------------------
 *
 * folded.h
 *	  Collapsed stacks to pprof: "root;...;leaf COUNT" per line, as Brendan
 *	  Gregg's stackcollapse scripts, py-spy, rbspy and Pyroscope's "folded"
 *	  ingest format write them, or one stack per line counted once
 *	  (Pyroscope's "lines").
 *
 * src/engine/folded.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_FOLDED_H
#define PPROF_FOLDED_H

#include "env.h"

#define PPROF_FOLDED_MAX_TYPES 2

/*
 * What the profile says about its values: each line's count becomes one
 * value per sample type, count times scale (e.g. samples/count scale 1 and
 * cpu/nanoseconds scale 1e9 / sampling rate).
 */
typedef struct PprofFoldedSpec
{
	bool		lines;			/* each line a stack counted once, no COUNT */
	int			ntypes;			/* 1 .. PPROF_FOLDED_MAX_TYPES */
	const char *type[PPROF_FOLDED_MAX_TYPES];
	const char *unit[PPROF_FOLDED_MAX_TYPES];
	int64_t		scale[PPROF_FOLDED_MAX_TYPES];
	const char *period_type;	/* NULL: none */
	const char *period_unit;
	int64_t		period;
	int64_t		time_nanos;		/* 0: none */
	int64_t		duration_nanos;
} PprofFoldedSpec;

/*
 * Builds the uncompressed protobuf of a profile from text[0..len): every
 * distinct frame name a function and a location (one line each, no
 * address), one sample per line in the text's order, leaf first as pprof
 * has it. Empty lines are skipped; a line without a count (folded), with a
 * count that is not a non-negative integer, with an empty frame, or whose
 * value overflows is PPROF_MALFORMED (PPROF_OVERFLOW) naming the line; no
 * stacks at all is PPROF_MALFORMED too. The result is a valid profile
 * (pprof_decode accepts it).
 */
extern PprofStatus pprof_from_folded(const PprofEnv *env, const char *text, size_t len,
									 const PprofFoldedSpec *spec, uint8_t **out, size_t *outlen,
									 PprofError *err);

#endif							/* PPROF_FOLDED_H */
