/*-------------------------------------------------------------------------
 *
 * benchio.h
 *	  What the in-process benchmarks share: a monotonic clock and reading a
 *	  whole file (codec_bench.c, pack_bench.c).
 *
 * bench/benchio.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_BENCHIO_H
#define PROFEFE_BENCHIO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The whole file (exits on an error). */
static inline uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;

	if (!f)
	{
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len > 0 ? *len : 1);
	if (fread(buf, 1, *len, f) != *len)
		exit(1);
	fclose(f);
	return buf;
}

#endif							/* PROFEFE_BENCHIO_H */
