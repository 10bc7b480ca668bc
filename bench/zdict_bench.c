/*-------------------------------------------------------------------------
 *
 * zdict_bench.c
 *	  What a zstd dictionary trained on a service's earlier profiles would
 *	  save on its small profiles (issue 17's "measure before choosing"):
 *	  per profile type, the files of one type in name order, the first
 *	  TRAIN of them train a dictionary, the rest are compressed without
 *	  and with it. Sizes are of the profile's raw protobuf compressed, the
 *	  payload the store keeps (docs/benchmarks.md, "Stored size").
 *
 *	  zdict_bench [-train N] [-dict BYTES] FILE.pb.gz...
 *	      files named ...-TYPE.pb.gz (gen-profiles' names); prints per type
 *	      the median gzip size and the median compressed sizes as ratios
 *
 * bench/zdict_bench.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zdict.h>
#include <zlib.h>
#include <zstd.h>

typedef struct File
{
	const char *name;
	char		type[32];
	size_t		gz;				/* gzip bytes as sent */
	unsigned char *raw;			/* the protobuf */
	size_t		rawlen;
} File;

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	unsigned char *b = NULL;
	size_t		cap = 0,
				n = 0,
				r;

	if (f == NULL)
		return NULL;
	do
	{
		if (n == cap)
			b = realloc(b, cap = cap ? cap * 2 : 65536);
		r = fread(b + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return b;
}

static unsigned char *
gunzip(const unsigned char *in, size_t n, size_t *out)
{
	z_stream	z = {0};
	size_t		cap = n * 8 + 1024;
	unsigned char *b = malloc(cap);
	int			rc;

	inflateInit2(&z, 15 + 32);
	z.next_in = (unsigned char *) in;
	z.avail_in = (unsigned) n;
	do
	{
		if (z.total_out == cap)
			b = realloc(b, cap *= 2);
		z.next_out = b + z.total_out;
		z.avail_out = (unsigned) (cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
	} while (rc == Z_OK);
	*out = z.total_out;
	inflateEnd(&z);
	return rc == Z_STREAM_END ? b : NULL;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t		x = *(const size_t *) a,
				y = *(const size_t *) b;

	return (x > y) - (x < y);
}

static size_t
median(size_t *v, int n)
{
	qsort(v, n, sizeof(size_t), cmp_size);
	return n ? v[n / 2] : 0;
}

static int
cmp_file(const void *a, const void *b)
{
	const File *x = a,
			   *y = b;
	int			c = strcmp(x->type, y->type);

	return c ? c : strcmp(x->name, y->name);
}

int
main(int argc, char **argv)
{
	int			train = 20;
	size_t		dict_cap = 32768;
	File	   *files = calloc(argc, sizeof(File));
	int			nf = 0;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i],
				   *dash,
				   *dot;
		unsigned char *gz;
		File	   *f;

		if (strcmp(a, "-train") == 0 && i + 1 < argc)
		{
			train = atoi(argv[++i]);
			continue;
		}
		if (strcmp(a, "-dict") == 0 && i + 1 < argc)
		{
			dict_cap = (size_t) atol(argv[++i]);
			continue;
		}
		f = &files[nf];
		if ((gz = slurp(a, &f->gz)) == NULL || (f->raw = gunzip(gz, f->gz, &f->rawlen)) == NULL)
		{
			fprintf(stderr, "%s: not a gzip file\n", a);
			return 1;
		}
		free(gz);
		f->name = a;
		dash = strrchr(a, '-');
		dot = strstr(a, ".pb");
		if (dash == NULL || dot == NULL || dot <= dash)
		{
			fprintf(stderr, "%s: not named ...-TYPE.pb.gz\n", a);
			return 1;
		}
		snprintf(f->type, sizeof(f->type), "%.*s", (int) (dot - dash - 1), dash + 1);
		nf++;
	}
	qsort(files, nf, sizeof(File), cmp_file);
	printf("zstd %s; dictionary %zu bytes trained on the first %d profiles of each type, the rest compressed\n",
		   ZSTD_versionString(), dict_cap, train);
	printf("%-13s %5s %9s %9s | %-12s %-12s %-12s %-12s | %s\n", "type", "n", "gzip", "raw",
		   "zstd-3", "zstd-19", "dict zstd-3", "dict zstd-19", "dict build, compress µs/profile");
	for (int s = 0; s < nf;)
	{
		int			e = s;
		int			ntest;
		size_t	   *gz,
				   *raw,
				   *z3,
				   *z19,
				   *d3,
				   *d19;
		size_t		total = 0,
					dsize;
		unsigned char *samples,
				   *dict = malloc(dict_cap),
				   *out;
		size_t	   *lens;
		ZSTD_CCtx  *cc = ZSTD_createCCtx();
		ZSTD_CDict *cd3,
				   *cd19;
		struct timespec t0,
					t1,
					t2;
		double		build_us,
					comp_us;

		while (e < nf && strcmp(files[e].type, files[s].type) == 0)
			e++;
		if (e - s <= train)
		{
			fprintf(stderr, "%s: %d profiles, need more than -train %d\n", files[s].type, e - s, train);
			s = e;
			continue;
		}
		for (int i = s; i < s + train; i++)
			total += files[i].rawlen;
		samples = malloc(total);
		lens = malloc(train * sizeof(size_t));
		total = 0;
		for (int i = s; i < s + train; i++)
		{
			memcpy(samples + total, files[i].raw, files[i].rawlen);
			lens[i - s] = files[i].rawlen;
			total += files[i].rawlen;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		dsize = ZDICT_trainFromBuffer(dict, dict_cap, samples, lens, train);
		if (ZDICT_isError(dsize))
		{
			fprintf(stderr, "%s: training failed: %s\n", files[s].type, ZDICT_getErrorName(dsize));
			s = e;
			continue;
		}
		cd3 = ZSTD_createCDict(dict, dsize, 3);
		cd19 = ZSTD_createCDict(dict, dsize, 19);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ntest = e - s - train;
		gz = malloc(ntest * sizeof(size_t));
		raw = malloc(ntest * sizeof(size_t));
		z3 = malloc(ntest * sizeof(size_t));
		z19 = malloc(ntest * sizeof(size_t));
		d3 = malloc(ntest * sizeof(size_t));
		d19 = malloc(ntest * sizeof(size_t));
		for (int i = 0; i < ntest; i++)
		{
			File	   *f = &files[s + train + i];
			size_t		cap = ZSTD_compressBound(f->rawlen);

			out = malloc(cap);
			gz[i] = f->gz;
			raw[i] = f->rawlen;
			z3[i] = ZSTD_compressCCtx(cc, out, cap, f->raw, f->rawlen, 3);
			z19[i] = ZSTD_compressCCtx(cc, out, cap, f->raw, f->rawlen, 19);
			d19[i] = ZSTD_compress_usingCDict(cc, out, cap, f->raw, f->rawlen, cd19);
			free(out);
		}
		clock_gettime(CLOCK_MONOTONIC, &t2);
		/* time the dictionary compression alone */
		{
			struct timespec a,
						b;

			clock_gettime(CLOCK_MONOTONIC, &a);
			for (int i = 0; i < ntest; i++)
			{
				File	   *f = &files[s + train + i];
				size_t		cap = ZSTD_compressBound(f->rawlen);

				out = malloc(cap);
				d3[i] = ZSTD_compress_usingCDict(cc, out, cap, f->raw, f->rawlen, cd3);
				free(out);
			}
			clock_gettime(CLOCK_MONOTONIC, &b);
			comp_us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / ntest;
		}
		build_us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3;
		{
			size_t		mgz = median(gz, ntest),
						mraw = median(raw, ntest),
						m3 = median(z3, ntest),
						m19 = median(z19, ntest),
						md3 = median(d3, ntest),
						md19 = median(d19, ntest);

			printf("%-13s %5d %9zu %9zu | %5zu %.2fx  %5zu %.2fx  %5zu %.2fx  %5zu %.2fx  | %.0f ms, %.0f µs\n",
				   files[s].type, ntest, mgz, mraw, m3, (double) m3 / mgz, m19, (double) m19 / mgz,
				   md3, (double) md3 / mgz, md19, (double) md19 / mgz, build_us / 1e3, comp_us);
		}
		(void) t2;
		ZSTD_freeCDict(cd3);
		ZSTD_freeCDict(cd19);
		ZSTD_freeCCtx(cc);
		free(samples);
		free(lens);
		free(dict);
		free(gz);
		free(raw);
		free(z3);
		free(z19);
		free(d3);
		free(d19);
		s = e;
	}
	return 0;
}
