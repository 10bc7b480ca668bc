/*
 * gen_mutants.c
 *	  Writes N deterministic mutations of a profile's raw protobuf bytes
 *	  (bit flips, byte changes, truncations, deletions, duplicated ranges),
 *	  for the differential test that checks profefe and Go's parser agree
 *	  on which inputs are valid.
 *
 * Usage: gen_mutants RAWFILE OUTDIR N SEED
 *
 * test/gen_mutants.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;

static uint32_t
next(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t) ((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	uint8_t    *src,
			   *buf;
	size_t		len,
				n;
	long		count;

	if (argc != 5)
	{
		fprintf(stderr, "usage: gen_mutants RAWFILE OUTDIR N SEED\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f)
	{
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	src = malloc(len + 1);
	if (fread(src, 1, len, f) != len)
		return 1;
	fclose(f);
	buf = malloc(len * 2 + 16);
	count = atol(argv[3]);
	rng = strtoull(argv[4], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;

	for (long k = 0; k < count; k++)
	{
		char		path[4096];
		int			edits = 1 + next() % 3;

		memcpy(buf, src, len);
		n = len;
		for (int e = 0; e < edits && n > 0; e++)
		{
			size_t		pos = next() % n;

			switch (next() % 6)
			{
				case 0:			/* flip a bit */
					buf[pos] ^= (uint8_t) (1u << (next() % 8));
					break;
				case 1:			/* set a byte */
					buf[pos] = (uint8_t) next();
					break;
				case 2:			/* truncate */
					n = pos;
					break;
				case 3:			/* delete a short range */
					{
						size_t		dl = 1 + next() % 8;

						if (pos + dl > n)
							dl = n - pos;
						memmove(buf + pos, buf + pos + dl, n - pos - dl);
						n -= dl;
					}
					break;
				case 4:			/* duplicate a short range */
					{
						size_t		dl = 1 + next() % 8;

						if (pos + dl > n)
							dl = n - pos;
						if (n + dl <= len * 2 + 16)
						{
							memmove(buf + pos + dl, buf + pos, n - pos);
							n += dl;
						}
					}
					break;
				case 5:			/* small integer change (ids, indices) */
					buf[pos] = (uint8_t) (buf[pos] + 1 + next() % 3);
					break;
			}
		}
		snprintf(path, sizeof(path), "%s/m%05ld.pb", argv[2], k);
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, n, f) != n || fclose(f))
		{
			perror(path);
			return 1;
		}
	}
	return 0;
}
