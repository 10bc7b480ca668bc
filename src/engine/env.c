/*-------------------------------------------------------------------------
 *
 * env.c
 *	  The engine's helpers for errors, memory and sorting (env.h).
 *
 * src/engine/env.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* qsort_r in glibc before POSIX.1-2024 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

PprofStatus
pprof_error(PprofError *err, PprofStatus status, const char *fmt,...)
{
	va_list		ap;

	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return status;
}

void
pprof_fail(const PprofEnv *env, PprofStatus status, const char *fmt,...)
{
	PprofError	err;
	va_list		ap;

	err.status = status;
	va_start(ap, fmt);
	vsnprintf(err.detail, sizeof(err.detail), fmt, ap);
	va_end(ap);
	if (env->fail)
		env->fail(env->fail_arg, &err);
	/* no handler, or one that returned: nothing sensible can go on */
	fprintf(stderr, "pprof engine: %s\n", err.detail);
	abort();
}

void
pprof_fail_no_memory(const PprofEnv *env, size_t size)
{
	pprof_fail(env, PPROF_NO_MEMORY, "Out of memory allocating %zu bytes.", size);
}

void *
pprof_alloc_array(const PprofEnv *env, size_t n, size_t elem)
{
	size_t		size;

	if (__builtin_mul_overflow(n, elem, &size))
		pprof_fail(env, PPROF_TOO_LARGE, "An array of %zu elements of %zu bytes does not fit in memory.",
				   n, elem);
	return pprof_alloc(env, size);
}

void *
pprof_alloc0_array(const PprofEnv *env, size_t n, size_t elem)
{
	void	   *p = pprof_alloc_array(env, n, elem);

	memset(p, 0, n * elem > 0 ? n * elem : 1);
	return p;
}

void *
pprof_grow(const PprofEnv *env, void *arr, size_t n, size_t *cap, size_t more, size_t elem)
{
	size_t		need,
				ncap;
	void	   *narr;

	if (__builtin_add_overflow(n, more, &need))
		pprof_fail(env, PPROF_TOO_LARGE, "A growing array would hold more than %zu elements.", SIZE_MAX);
	if (need <= *cap)
		return arr;
	ncap = *cap ? *cap : 64;
	while (ncap < need)
	{
		if (__builtin_mul_overflow(ncap, 2, &ncap))
		{
			ncap = need;
			break;
		}
	}
	narr = pprof_alloc_array(env, ncap, elem);
	if (n > 0)
		memcpy(narr, arr, n * elem);
	pprof_free(env, arr);
	*cap = ncap;
	return narr;
}

void
pprof_sort(void *base, size_t n, size_t size,
		   int (*cmp) (const void *a, const void *b, void *arg), void *arg)
{
	if (n > 1)
		qsort_r(base, n, size, cmp, arg);
}
