/*-------------------------------------------------------------------------
 *
 * pack_bench.c
 *	  What a pack of the given profiles takes and costs, 0.9.0's layout
 *	  (fields transposed) beside 0.9.1's (message streams also split by
 *	  sub-field, pack_sub.h), at the given zstd levels: bytes against the
 *	  sum of the files' sizes (gzip as sent), build and open times (the
 *	  median of 5). Every pack is opened and compared with what went in.
 *
 *	  pack_bench [-levels 3,9,19] FILE.pb.gz...
 *
 * bench/pack_bench.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchio.h"
#include "engine/arena.h"
#include "engine/pack.h"
#include "engine/profile.h"

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const char *levels = "3,9,19";
	int			first = 1,
				n;
	uint8_t   **raws;
	size_t	   *lens;
	size_t		gz = 0,
				rawsum = 0;
	PprofArena *keep = pprof_arena_create(),
			   *arena = pprof_arena_create();
	PprofEnv	kenv;

	if (argc > 2 && strcmp(argv[1], "-levels") == 0)
	{
		levels = argv[2];
		first = 3;
	}
	n = argc - first;
	if (n < 1)
	{
		fprintf(stderr, "usage: pack_bench [-levels 3,9,19] FILE.pb.gz...\n");
		return 2;
	}
	raws = calloc(n, sizeof(*raws));
	lens = calloc(n, sizeof(*lens));
	pprof_arena_env(keep, &kenv, 1u << 30);
	for (int i = 0; i < n; i++)
	{
		size_t		len;
		uint8_t    *data = slurp(argv[first + i], &len);
		PprofProfile prof;
		PprofError	err;

		if (pprof_decode(&kenv, data, len, &prof, &err) != PPROF_OK)
		{
			fprintf(stderr, "%s: %s\n", argv[first + i], err.detail);
			return 1;
		}
		raws[i] = (uint8_t *) prof.raw;
		lens[i] = prof.raw_size;
		gz += len;
		rawsum += prof.raw_size;
		free(data);
	}
	printf("%d profiles: %zu bytes as sent, %zu bytes of protobuf\n", n, gz, rawsum);
	printf("%-6s %-6s %10s %7s %9s %9s\n", "level", "layout", "bytes", "ratio", "build ms", "open ms");
	for (const char *l = levels; *l;)
	{
		int			level = atoi(l);

		for (int plain = 1; plain >= 0; plain--)
		{
			double		tb[5],
						to[5];
			size_t		pklen = 0;

			for (int r = 0; r < 5; r++)
			{
				PprofEnv	env;
				PprofError	err;
				PprofPack	pk;
				uint8_t    *out;
				double		t0;

				pprof_arena_env(arena, &env, 1u << 30);
				t0 = now();
				if (pprof_pack_build(&env, (const uint8_t *const *) raws, lens, (uint32_t) n, level,
									 plain ? PPROF_PACK_PLAIN : 0, &out, &pklen, &err) != PPROF_OK)
				{
					fprintf(stderr, "pack: %s\n", err.detail);
					return 1;
				}
				tb[r] = now() - t0;
				t0 = now();
				if (pprof_pack_open(&env, out, pklen, &pk, &err) != PPROF_OK)
				{
					fprintf(stderr, "open: %s\n", err.detail);
					return 1;
				}
				to[r] = now() - t0;
				for (int i = 0; i < n; i++)
				{
					const uint8_t *e;
					size_t		elen;

					pprof_pack_entry(&pk, (uint32_t) i, &e, &elen);
					if (elen != lens[i] || memcmp(e, raws[i], elen) != 0)
					{
						fprintf(stderr, "profile %d does not come back as it went in\n", i + 1);
						return 1;
					}
				}
				pprof_arena_reset(arena);
			}
			qsort(tb, 5, sizeof(double), cmp_double);
			qsort(to, 5, sizeof(double), cmp_double);
			printf("%-6d %-6s %10zu %6.3fx %9.1f %9.1f\n", level, plain ? "0.9.0" : "split", pklen,
				   (double) pklen / (double) gz, tb[2] * 1e3, to[2] * 1e3);
		}
		while (*l && *l != ',')
			l++;
		if (*l == ',')
			l++;
	}
	return 0;
}
