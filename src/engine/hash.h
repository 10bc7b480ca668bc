/*-------------------------------------------------------------------------
 *
 * hash.h
 *	  The hash functions of the engine's tables: FNV-1a over bytes and a
 *	  64-bit mixer for combining integers into a key's hash.
 *
 * src/engine/hash.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_HASH_H
#define PPROF_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Combines v into the running hash h (a boost::hash_combine step, then splitmix64's finalizer). */
static inline uint64_t
pprof_hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ULL;
	return h ^ (h >> 29);
}

/* FNV-1a over n bytes. */
static inline uint64_t
pprof_hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
	{
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

#endif							/* PPROF_HASH_H */
