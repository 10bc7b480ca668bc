/*-------------------------------------------------------------------------
 *
 * arena.h
 *	  A malloc-backed arena environment for running the engine outside the
 *	  server (unit tests, tools, the fuzzers, benchmarks). The extension
 *	  uses palloc and memory contexts instead (src/pg/pg_env.c).
 *
 * src/engine/arena.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_ARENA_H
#define PPROF_ARENA_H

#include "env.h"

typedef struct PprofArena PprofArena;

extern PprofArena *pprof_arena_create(void);
extern void pprof_arena_reset(PprofArena *arena);
extern void pprof_arena_destroy(PprofArena *arena);
/* Bytes currently held from malloc. */
extern size_t pprof_arena_bytes(const PprofArena *arena);

/*
 * An environment allocating from the arena, with no tick hook, failing by
 * abort (set env->fail to do otherwise), and the arena's zstd contexts.
 */
extern void pprof_arena_env(PprofArena *arena, PprofEnv *env, size_t max_size);

#endif							/* PPROF_ARENA_H */
