/*
 * read_bench.c
 *	  Times the plain-C read functions in process (decode excluded):
 *	  top, flame tree, folded text, SVG. For profiling with perf.
 *
 * Usage: read_bench [-t SECONDS] FILE
 *
 * bench/read_bench.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/arena.h"
#include "engine/profile.h"
#include "engine/report.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	double		secs = 1;
	const char *path = argv[argc - 1];
	FILE	   *f;
	size_t		len;
	uint8_t    *data;
	PprofArena *keep = pprof_arena_create(),
			   *scratch = pprof_arena_create();
	PprofEnv	env,
				senv;
	PprofProfile p;
	PprofError	err;
	int			idx;
	const char *what[] = {"top", "flame tree", "folded", "svg"};

	if (argc > 3 && strcmp(argv[1], "-t") == 0)
		secs = atof(argv[2]);
	f = fopen(path, "rb");
	if (!f)
		return 1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(len);
	if (fread(data, 1, len, f) != len)
		return 1;
	fclose(f);
	pprof_arena_env(keep, &env, 1u << 30);
	if (pprof_decode(&env, data, len, &p, &err) != PPROF_OK)
		return 1;
	idx = pprof_sample_index(&p, NULL);
	for (int w = 0; w < 4; w++)
	{
		double		t0 = now();
		long		n = 0;
		size_t		out = 0;

		do
		{
			PprofTop	top;
			PprofFlame	fl;
			PprofBuf	b;

			pprof_arena_env(scratch, &senv, 1u << 30);
			if (w == 0)
				pprof_compute_top(&senv, &p, idx, &top, &err);
			else
			{
				pprof_flame_build(&senv, &p, idx, &fl, &err);
				pprof_buf_init(&b, &senv, 4096);
				if (w == 2)
					pprof_write_folded(&senv, &fl, &b);
				else if (w == 3)
					pprof_flame_svg(&senv, &p, idx, &fl, "bench", &b);
				out = w == 1 ? fl.n_nodes : b.len;
			}
			pprof_arena_reset(scratch);
			n++;
		} while (now() - t0 < secs || n < 3);
		printf("%-10s %10.1f us  (%zu %s)\n", what[w], (now() - t0) / n * 1e6, out,
			   w == 1 ? "nodes" : "bytes");
	}
	return 0;
}
