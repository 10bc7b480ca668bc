/*-------------------------------------------------------------------------
 *
 * arena.c
 *	  Bump allocator over malloc'd blocks; freeing is a no-op and the whole
 *	  arena is released at once, like a memory context reset (arena.h).
 *
 * src/engine/arena.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "store.h"

#define ARENA_BLOCK (256 * 1024)

typedef struct Block
{
	struct Block *next;
	size_t		size;
	size_t		used;
	/* data follows, 16-byte aligned */
} Block;

struct PprofArena
{
	Block	   *head;
	size_t		bytes;
	PprofZstd	zstd;			/* kept until the arena is destroyed */
};

#define BLOCK_HDR ((sizeof(Block) + 15) & ~(size_t) 15)

PprofArena *
pprof_arena_create(void)
{
	PprofArena *a = calloc(1, sizeof(PprofArena));

	if (a == NULL)
		abort();
	return a;
}

void
pprof_arena_reset(PprofArena *arena)
{
	Block	   *b = arena->head;

	while (b)
	{
		Block	   *next = b->next;

		free(b);
		b = next;
	}
	arena->head = NULL;
	arena->bytes = 0;
}

void
pprof_arena_destroy(PprofArena *arena)
{
	pprof_arena_reset(arena);
	pprof_zstd_release(&arena->zstd);
	free(arena);
}

size_t
pprof_arena_bytes(const PprofArena *arena)
{
	return arena->bytes;
}

static void *
arena_alloc(void *data, size_t size)
{
	PprofArena *a = data;
	Block	   *b = a->head;
	void	   *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	size = (size + 15) & ~(size_t) 15;
	if (b == NULL || b->size - b->used < size)
	{
		size_t		bsize = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
		Block	   *nb = malloc(BLOCK_HDR + bsize);

		if (nb == NULL)
			return NULL;		/* the engine reports it (env.h) */
		nb->size = bsize;
		nb->used = 0;
		a->bytes += BLOCK_HDR + bsize;
		/* Big one-off blocks go behind the current block to keep using it. */
		if (b != NULL && bsize != ARENA_BLOCK)
		{
			nb->next = b->next;
			b->next = nb;
			nb->used = size;
			return (char *) nb + BLOCK_HDR;
		}
		nb->next = b;
		a->head = b = nb;
	}
	p = (char *) b + BLOCK_HDR + b->used;
	b->used += size;
	return p;
}

static void
arena_free(void *data, void *p)
{
}

void
pprof_arena_env(PprofArena *arena, PprofEnv *env, size_t max_size)
{
	memset(env, 0, sizeof(*env));
	env->alloc.alloc = arena_alloc;
	env->alloc.free = arena_free;
	env->alloc.ctx = arena;
	env->max_size = max_size;
	env->zstd = &arena->zstd;
}
