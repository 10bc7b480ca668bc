/*-------------------------------------------------------------------------
 *
 * pprof_arena.h
 *	  A malloc-backed arena for running the codec outside the server
 *	  (unit tests, the fuzzer, benchmarks). Not linked into the extension,
 *	  which uses palloc and memory contexts instead.
 *
 * src/pprof_arena.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_ARENA_H
#define PPROF_ARENA_H

#include "profile.h"

typedef struct PprofArena PprofArena;

extern PprofArena *pprof_arena_create(void);
extern void pprof_arena_reset(PprofArena *arena);
extern void pprof_arena_destroy(PprofArena *arena);
/* Bytes currently held from malloc. */
extern size_t pprof_arena_bytes(const PprofArena *arena);

/* A codec environment allocating from the arena, with no tick hook. */
extern void pprof_arena_env(PprofArena *arena, PprofEnv *env, size_t max_size);

#endif							/* PPROF_ARENA_H */
