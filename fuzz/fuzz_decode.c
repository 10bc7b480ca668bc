/*
 * fuzz_decode.c
 *	  libFuzzer target for the profile decoder: gzip detection and inflate,
 *	  the protobuf decoder and every validity check. Accepted inputs also go
 *	  through the stored forms (zstd, and a whole gzip member kept as
 *	  received) and are decoded again, which must succeed,
 *	  and through top, the flame tree, folded output and the SVG. Any input
 *	  is also opened as a pack's content and as a split stream, and split
 *	  when it reads as messages, which must give it back byte for byte.
 *
 *	  make fuzz FUZZ_SECONDS=600
 *
 * fuzz/fuzz_decode.c
 */
#include <stdlib.h>
#include <string.h>

#include "engine/arena.h"
#include "engine/folded.h"
#include "engine/merge.h"
#include "engine/profile.h"
#include "engine/report.h"
#include "engine/store.h"
#include "engine/pack.h"
#include "engine/pack_sub.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static PprofArena *arena;
	PprofEnv	env;
	PprofProfile prof,
				again;
	PprofError	err;

	if (arena == NULL)
		arena = pprof_arena_create();
	/* A small cap keeps gzip bombs cheap while still exercising the limit. */
	pprof_arena_env(arena, &env, 4u << 20);
	/* any bytes as a pack's content: refused or opened, never a crash */
	{
		uint8_t    *pk;
		size_t		pklen;
		PprofPack	opened;

		uint8_t    *split,
				   *back;
		size_t		splitlen,
					backlen;

		if (pprof_zstd_frame_encode(&env, PPROF_PACK_V1, data, size, 1, &pk, &pklen, &err) == PPROF_OK)
		{
			(void) pprof_pack_open(&env, pk, pklen, &opened, &err);
			pk[1] = 0x0f;		/* the same content read as split streams (0.9.1) */
			(void) pprof_pack_open(&env, pk, pklen, &opened, &err);
		}
		/* parts of 1 to 4 messages, from the input's first bytes (pack_ctx.h starts anew at each) */
		uint32_t	parts[16];
		uint32_t	nparts = size < 16 ? (uint32_t) size : 16;

		for (uint32_t i = 0; i < nparts; i++)
			parts[i] = 1 + data[i] % 4;
		/* any bytes as one split stream: refused or put back, never a crash */
		(void) pprof_pack_sub_decode(&env, data, size, 2, parts, nparts, &back, &backlen, &err);
		/* any bytes that read as samples: split and put back byte for byte */
		if (pprof_pack_sub_encode(&env, data, size, 2, 1, parts, nparts, &split, &splitlen) &&
			(pprof_pack_sub_decode(&env, split, splitlen, 2, parts, nparts, &back, &backlen, &err) != PPROF_OK ||
			 backlen != size || (size > 0 && memcmp(back, data, size) != 0)))
			abort();
	}
	if (pprof_decode(&env, data, size, &prof, &err) == PPROF_OK)
	{
		uint8_t    *stored;
		size_t		stored_len;

		/* what we accepted must survive the stored form */
		if (pprof_store_pack(&env, prof.raw, prof.raw_size, 1, &stored, &stored_len, &err) != PPROF_OK ||
			pprof_store_decode(&env, stored, stored_len, &again, &err) != PPROF_OK ||
			again.n_sample != prof.n_sample)
			abort();
		/* one whole gzip member kept as received (0.8.0) must come back as the same protobuf */
		if (prof.gzip_whole)
		{
			uint8_t    *raw;
			size_t		rawlen;

			if (pprof_store_keep(&env, data, size, &stored, &stored_len, &err) != PPROF_OK ||
				pprof_store_unpack(&env, stored, stored_len, &raw, &rawlen, &err) != PPROF_OK ||
				rawlen != prof.raw_size || memcmp(raw, prof.raw, rawlen) != 0 ||
				pprof_store_decode(&env, stored, stored_len, &again, &err) != PPROF_OK ||
				again.n_sample != prof.n_sample)
				abort();
		}
		/* a pack of it, nothing and it again must give back the same protobufs (0.9.0) */
		{
			const uint8_t *raws[3] = {prof.raw, (const uint8_t *) "", prof.raw};
			size_t		lens[3] = {prof.raw_size, 0, prof.raw_size};
			uint8_t    *pk;
			size_t		pklen;
			PprofPack	opened;
			const uint8_t *e;
			size_t		elen;

			if (pprof_pack_build(&env, raws, lens, 3, 1, 0, &pk, &pklen, &err) != PPROF_OK ||
				pprof_pack_open(&env, pk, pklen, &opened, &err) != PPROF_OK || opened.count != 3)
				abort();
			for (uint32_t i = 0; i < 3; i++)
			{
				pprof_pack_entry(&opened, i, &e, &elen);
				if (elen != lens[i] || (elen > 0 && memcmp(e, raws[i], elen) != 0))
					abort();
			}
		}
		/* merging it with itself must give a profile we accept */
		{
			PprofMerger *mg = pprof_merger_create(&env);
			PprofProfile merged;
			uint8_t    *mraw;
			size_t		mlen;

			if (pprof_merger_add(mg, &env, &prof, &err) != PPROF_OK ||
				pprof_merger_add(mg, &env, &again, &err) != PPROF_OK ||
				pprof_merger_encode(mg, &env, 2, &mraw, &mlen, &err) != PPROF_OK ||
				pprof_decode(&env, mraw, mlen, &merged, &err) != PPROF_OK)
				abort();
		}
		/* the read functions must cope with anything the decoder accepts */
		if (prof.n_sample_type > 0)
		{
			int			idx = pprof_sample_index(&prof, NULL);
			PprofTop	top;
			PprofFlame	flame;
			PprofBuf	buf;

			pprof_compute_top(&env, &prof, idx, &top, &err);
			if (pprof_flame_build(&env, &prof, idx, &flame, &err) == PPROF_OK)
			{
				pprof_buf_init(&buf, &env, 1024);
				pprof_write_folded(&env, &flame, &buf);
				{
					PprofFoldedSpec spec = {.ntypes = 1, .type = {"samples"}, .unit = {"count"}, .scale = {1}};
					uint8_t    *fraw;
					size_t		flen;
					PprofProfile back;
					PprofStatus st = pprof_from_folded(&env, buf.data, buf.len, &spec, &fraw, &flen, &err);

					/* negative values (folded writes what the samples hold) are refused; else it must decode */
					if (st == PPROF_OK && pprof_decode(&env, fraw, flen, &back, &err) != PPROF_OK)
						abort();
				}
				pprof_flame_svg(&env, &prof, idx, &flame, "fuzz", &buf);
			}
		}
	}
	else if (err.detail[0] == '\0')
		abort();				/* every refusal names its reason */
	/* the same bytes as collapsed stacks */
	{
		PprofFoldedSpec spec = {.ntypes = 2, .type = {"samples", "cpu"}, .unit = {"count", "nanoseconds"},
		.scale = {1, 10000000}, .period_type = "cpu", .period_unit = "nanoseconds", .period = 10000000,
		.lines = size > 0 && (data[0] & 1)};
		uint8_t    *fraw;
		size_t		flen;
		PprofProfile back;

		err.detail[0] = '\0';
		if (pprof_from_folded(&env, (const char *) data, size, &spec, &fraw, &flen, &err) == PPROF_OK)
		{
			if (pprof_decode(&env, fraw, flen, &back, &err) != PPROF_OK)
				abort();
		}
		else if (err.detail[0] == '\0')
			abort();
	}
	pprof_arena_reset(arena);
	return 0;
}
