/*-------------------------------------------------------------------------
 *
 * flamerows.h
 *	  A flame graph as rows of a nested-set frame (Grafana's Flame Graph
 *	  panel), optionally folded to a budget of rows (flamerows.c).
 *
 * src/engine/flamerows.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_FLAMEROWS_H
#define PPROF_FLAMEROWS_H

#include "report.h"

typedef struct PprofFlameRow
{
	uint32_t	level;			/* 0: the root, "total" */
	PprofStr	label;			/* a frame's name, "total" or "other" */
	int64_t		value;			/* inclusive, of the first side */
	int64_t		self;			/* exclusive: value minus the children's */
	int64_t		value_b;		/* the same of the second side (0 without one) */
	int64_t		self_b;
} PprofFlameRow;

typedef struct PprofFlameRows
{
	PprofFlameRow *rows;		/* depth-first pre-order, children in name order */
	size_t		n_rows;
} PprofFlameRows;

/*
 * The rows of a flame graph tree. With max_rows > 0 and fewer rows than
 * nodes, the heaviest nodes (both sides' values together) are kept and each
 * kept node's other children are folded into one "other" row under it, so
 * at most max_rows rows remain and every total is kept; max_rows 1 is an
 * error (PPROF_INCOMPATIBLE).
 */
extern PprofStatus pprof_flame_rows(const PprofEnv *env, const PprofFlame *f, size_t max_rows,
									PprofFlameRows *out, PprofError *err);

#endif							/* PPROF_FLAMEROWS_H */
