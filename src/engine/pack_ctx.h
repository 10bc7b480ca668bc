/*-------------------------------------------------------------------------
 *
 * pack_ctx.h
 *	  A stack's location ids coded from the id before each (0.9.2).
 *
 * A stack is a walk up a call graph: which location comes after a given
 * one is nearly always one of a few. Byte planes (pack_sub.c) give zstd
 * each id on its own, ~12 bits apiece for the large synthetic profile;
 * this coder turns each id into a symbol over what came before it in the
 * same profile:
 *
 *   0        an id not seen after this one; the id itself follows (the
 *            caller stores it in the byte planes)
 *   1        likewise, but the id is one more than the largest so far
 *            (Go numbers locations in the order it meets them), nothing
 *            follows
 *   2 + k    the k-th distinct id seen after this one
 *
 * The id before a stack's first is 0. Each profile of a pack starts anew
 * (pack_ctx_reset): ids are a profile's own numbering. Measured
 * (docs/decisions.md §17, zstd level 9): the large synthetic profile's
 * stacks 435 → 356 KB; 200 Go CPU profiles of one service 100 → 76 KB.
 *
 * src/engine/pack_ctx.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_PACK_CTX_H
#define PPROF_PACK_CTX_H

#include "env.h"

/* the coder's pairs: (prev, id) → k */
typedef struct PackCtxEntry
{
	uint32_t	key;			/* prev << 16 | id */
	uint16_t	k;
	uint16_t	gen;			/* the part that wrote it (low bits); others are empty */
} PackCtxEntry;

/* per prev: how many distinct ids came after it; for the decoder, which */
typedef struct PackCtxPrev
{
	uint32_t	gen;			/* the part of n, off and cap; another: n is 0 */
	uint32_t	n;
	uint32_t	off;			/* the decoder's ids after prev: pool[off .. off + n) */
	uint32_t	cap;
} PackCtxPrev;

typedef struct PackCtx
{
	const PprofEnv *env;
	PackCtxEntry *tab;			/* the coder's, a power of two */
	size_t		cap,
				live;			/* entries of this part */
	PackCtxPrev *prevs;			/* grown to the largest prev seen */
	size_t		nprevs;
	uint16_t   *pool;			/* the decoder's, this part's */
	size_t		pool_len,
				pool_cap;
	uint32_t	part;			/* from 1 */
	uint32_t	max;			/* the largest id of this part so far */
} PackCtx;

extern void pack_ctx_init(PackCtx *c, const PprofEnv *env);
extern void pack_ctx_reset(PackCtx *c);
extern void pack_ctx_free(PackCtx *c);

/* The symbol for id (< 2^16) after prev (< 2^16); learns the pair. */
extern uint64_t pack_ctx_encode(PackCtx *c, uint32_t prev, uint32_t id);

/*
 * The id for sym after prev: for sym 0, *id holds the id that followed it.
 * False when the symbol names nothing this part has seen (a damaged pack).
 */
extern bool pack_ctx_decode(PackCtx *c, uint32_t prev, uint64_t sym, uint32_t *id);

#endif							/* PPROF_PACK_CTX_H */
