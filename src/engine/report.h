/*-------------------------------------------------------------------------
 *
 * report.h
 *	  Reading a decoded profile the way pprof reports do: frame names and
 *	  stacks (frames.c), top with flat and cum (top.c), the tree of stacks
 *	  and folded stacks (flame.c), a flame graph in SVG (svg.c).
 *
 * src/engine/report.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_REPORT_H
#define PPROF_REPORT_H

#include "buf.h"
#include "profile.h"

typedef enum PprofNaming
{
	/*
	 * Frames as `go tool pprof` names report nodes at its default
	 * "functions" granularity: the function name; for a line without a
	 * named function or a location without lines, "[binary]" (the mapping
	 * file's base name) or "<unknown>".
	 */
	PPROF_NAMES_FUNCTIONS,

	/*
	 * Frames for stacks (pprof_samples, folded, flame graph): the function
	 * name; if it is empty, the system name; for a location without lines
	 * (unsymbolized) or still without a name, its address as 0x hex.
	 */
	PPROF_NAMES_STACKS
} PprofNaming;

/*
 * The frames of a profile: each (location, line) slot maps to a distinct
 * frame id; frames with equal keys share an id.
 */
typedef struct PprofFrames
{
	uint32_t   *loc_start;		/* per location index: first slot */
	uint32_t   *loc_count;		/* per location index: max(1, n_line) */
	uint32_t   *slot_frame;		/* per slot: frame id */
	size_t		n_frames;
	PprofStr   *names;			/* per frame: display name */
} PprofFrames;

extern void pprof_frames_build(const PprofEnv *env, const PprofProfile *p,
							   PprofNaming naming, PprofFrames *out);

/*
 * Writes sample s's frames leaf first (inlined frames innermost first, as
 * pprof prints them) into out, which must hold pprof_stack_depth() ids.
 */
extern size_t pprof_stack_depth(const PprofProfile *p, const PprofFrames *fr, size_t s);
extern size_t pprof_sample_stack(const PprofProfile *p, const PprofFrames *fr,
								 size_t s, uint32_t *out);

/* ---- top ---- */

typedef struct PprofTopRow
{
	uint32_t	frame;
	int64_t		flat;
	int64_t		cum;
} PprofTopRow;

typedef struct PprofTop
{
	PprofFrames frames;			/* PPROF_NAMES_FUNCTIONS */
	PprofTopRow *rows;			/* sorted as -top prints them */
	size_t		n_rows;
	int64_t		total;			/* pprof's total: sum of |value| */
} PprofTop;

/*
 * Computes `go tool pprof -top -nodefraction=0` at functions granularity
 * for one sample type. Fails (PPROF_OVERFLOW) only if totals overflow.
 */
extern PprofStatus pprof_compute_top(const PprofEnv *env, const PprofProfile *p, int sample_index,
							 PprofTop *out, PprofError *err);

/* ---- flame graph tree, folded stacks, SVG ---- */

typedef struct PprofFlameNode
{
	uint32_t	frame;			/* index into PprofFlame.names */
	uint32_t	parent;			/* 0 for the root's children; root is node 0 */
	uint32_t	first_child;	/* 0 = none */
	uint32_t	next_sibling;	/* 0 = none; siblings sorted by name */
	uint32_t	depth;
	int64_t		total;			/* value of this node and below */
	int64_t		self;
	int64_t		total_b;		/* the same of the second side, if any */
	int64_t		self_b;
} PprofFlameNode;

typedef struct PprofFlame
{
	PprofFrames frames;			/* the first side's frames */
	const PprofStr *names;		/* per frame of every side */
	size_t		n_names;
	PprofFlameNode *nodes;		/* node 0 is the root ("all") */
	size_t		n_nodes;
	uint32_t	max_depth;
} PprofFlame;

/* A profile and the sample type of it that a flame graph shows. */
typedef struct PprofFlameSide
{
	const PprofProfile *p;
	int			sample_index;
} PprofFlameSide;

/*
 * Merges the samples with a positive value of one sample type into a tree
 * of stacks, root first, frames named for stacks. Negative and zero values
 * are left out.
 */
extern PprofStatus pprof_flame_build(const PprofEnv *env, const PprofProfile *p,
									 int sample_index, PprofFlame *out, PprofError *err);

/*
 * The same over one or two profiles (a comparison: total/self from the
 * first, total_b/self_b from the second) with frames named as given;
 * frames of equal names are one node wherever the stacks agree.
 */
extern PprofStatus pprof_flame_build_sides(const PprofEnv *env, const PprofFlameSide *sides,
										   int n_sides, PprofNaming naming, PprofFlame *out,
										   PprofError *err);

/*
 * The node after `node` in pre-order (0 at the end): its first child when
 * descend and it has one, else the next sibling of it or of an ancestor.
 */
static inline uint32_t
pprof_flame_next(const PprofFlame *f, uint32_t node, bool descend)
{
	if (descend && f->nodes[node].first_child)
		return f->nodes[node].first_child;
	while (node != 0 && f->nodes[node].next_sibling == 0)
		node = f->nodes[node].parent;
	return node != 0 ? f->nodes[node].next_sibling : 0;
}

/*
 * Brendan Gregg's collapsed format: "root;child;leaf value\n" per distinct
 * stack with a positive value, sorted. ';' in names becomes ':' and line
 * breaks become spaces.
 */
extern void pprof_write_folded(const PprofEnv *env, const PprofFlame *f, PprofBuf *out);

/* A self-contained SVG flame graph (no scripts, fonts or links). */
extern void pprof_flame_svg(const PprofEnv *env, const PprofProfile *p, int sample_index,
							const PprofFlame *f, const char *title, PprofBuf *out);

#endif							/* PPROF_REPORT_H */
