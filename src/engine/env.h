/*-------------------------------------------------------------------------
 *
 * env.h
 *	  The environment every engine call runs in: where memory comes from,
 *	  how a long loop lets its caller interrupt it, what happens when
 *	  something cannot go on, and the size cap of the call. Plus the one set
 *	  of helpers the engine allocates, grows, sorts and reports errors with.
 *
 * The engine (src/engine/) is plain C: it never includes a PostgreSQL
 * header and keeps no process-global state, so it links into the
 * extension, the tools, tests, fuzzers and benchmarks alike, and a threaded
 * program can use it with one environment per thread. Inside the server
 * the environment allocates with palloc, ticks with CHECK_FOR_INTERRUPTS
 * and fails with ereport (src/pg/pg_env.c); elsewhere an arena does
 * (arena.h).
 *
 * src/engine/env.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_ENV_H
#define PPROF_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What went wrong; the server maps each to its own SQLSTATE. */
typedef enum PprofStatus
{
	PPROF_OK = 0,
	PPROF_MALFORMED,			/* bytes are not a valid profile (22P03) */
	PPROF_TOO_LARGE,			/* a size limit was exceeded (54000) */
	PPROF_OVERFLOW,				/* a value does not fit in 64 bits (22003) */
	PPROF_INCOMPATIBLE,			/* profiles of different types combined (22023) */
	PPROF_NO_MEMORY,			/* an allocation failed (53200) */
	PPROF_INTERNAL				/* a library failed where it should not (XX000) */
} PprofStatus;

#define PPROF_ERRDETAIL_LEN 256

typedef struct PprofError
{
	PprofStatus status;
	char		detail[PPROF_ERRDETAIL_LEN];	/* a complete sentence */
} PprofError;

/*
 * Where memory comes from. alloc returns NULL only when memory is
 * exhausted (or does not return at all, as palloc); free may be NULL when
 * memory is released wholesale (an arena, a memory context).
 */
typedef struct PprofAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} PprofAllocator;

/*
 * Codec contexts the caller keeps between calls (they are costly to make:
 * zstd's, and libdeflate's gzip decompressor):
 * NULL members are made on first use and stay; pprof_zstd_release
 * (store.h) frees them. A caller without one (env->zstd NULL) gets contexts per call.
 */
typedef struct PprofZstd
{
	void	   *cctx;
	void	   *dctx;
	void	   *inflater;		/* libdeflate's gzip decompressor (gzip.c) */
} PprofZstd;

typedef struct PprofEnv
{
	PprofAllocator alloc;		/* all memory comes from here */
	void		(*tick) (void *arg);	/* called in long loops; may not return */
	void	   *tick_arg;

	/*
	 * Called when a helper cannot go on (out of memory, a size that does not
	 * fit); must not return. NULL: the message goes to stderr and the
	 * process aborts.
	 */
	void		(*fail) (void *arg, const PprofError *err);
	void	   *fail_arg;
	size_t		max_size;		/* cap on a decompressed or encoded profile */
	PprofZstd  *zstd;			/* reused zstd contexts, or NULL */
} PprofEnv;

/* ---- errors ---- */

/* Fills err and returns its status. */
extern PprofStatus pprof_error(PprofError *err, PprofStatus status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Reports through env->fail; never returns. */
extern void pprof_fail(const PprofEnv *env, PprofStatus status, const char *fmt,...)
			__attribute__((format(printf, 3, 4), noreturn));

/* ---- interrupts ---- */

static inline void
pprof_tick(const PprofEnv *env)
{
	if (env->tick)
		env->tick(env->tick_arg);
}

/* ---- memory ---- */

extern void pprof_fail_no_memory(const PprofEnv *env, size_t size) __attribute__((noreturn));

/* size bytes (at least one) from the environment; never NULL. */
static inline void *
pprof_alloc(const PprofEnv *env, size_t size)
{
	void	   *p = env->alloc.alloc(env->alloc.ctx, size > 0 ? size : 1);

	if (p == NULL)
		pprof_fail_no_memory(env, size);
	return p;
}

/* n elements of elem bytes, the multiplication checked. */
extern void *pprof_alloc_array(const PprofEnv *env, size_t n, size_t elem);

/* The same, zeroed. */
extern void *pprof_alloc0_array(const PprofEnv *env, size_t n, size_t elem);

static inline void
pprof_free(const PprofEnv *env, void *p)
{
	if (p != NULL && env->alloc.free != NULL)
		env->alloc.free(env->alloc.ctx, p);
}

/*
 * Makes room for `more` elements in a growable array of `elem`-byte
 * elements holding n, doubling its capacity *cap; returns the (possibly
 * new) array, the old one freed. Sizes that do not fit fail (TOO_LARGE).
 */
extern void *pprof_grow(const PprofEnv *env, void *arr, size_t n, size_t *cap,
						size_t more, size_t elem);

/* ---- sorting ---- */

/* qsort with a context argument for the comparison (POSIX.1-2024 qsort_r). */
extern void pprof_sort(void *base, size_t n, size_t size,
					   int (*cmp) (const void *a, const void *b, void *arg), void *arg);

#endif							/* PPROF_ENV_H */
