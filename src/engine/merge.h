/*-------------------------------------------------------------------------
 *
 * merge.h
 *	  Merging profiles with the semantics of Go's profile.Merge.
 *
 * A PprofMerger is the state of a merge: the distinct mappings, functions,
 * locations and samples seen so far, each deduplicated by pprof's keys, and
 * the combined header. It grows with the number of distinct stacks, not
 * with the number of profiles added. All of its memory comes from the
 * environment it was created with; pprof_merger_add only uses the scratch
 * environment it is given for per-profile tables.
 *
 * src/engine/merge.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_MERGE_H
#define PPROF_MERGE_H

#include "profile.h"

typedef struct PprofMerger PprofMerger;

extern PprofMerger *pprof_merger_create(const PprofEnv *env);

/*
 * Adds a decoded, validated profile. Fails with PPROF_INCOMPATIBLE when its
 * period type or sample types differ from the first profile's; err->detail
 * names both.
 */
extern PprofStatus pprof_merger_add(PprofMerger *m, const PprofEnv *scratch,
									const PprofProfile *src, PprofError *err);

/*
 * Adds a profile with every value scaled by ratio first, rounded as
 * pprof's Scale rounds (samples left all zero are dropped); with
 * diff_base, every sample also gets the label pprof::base=true, as
 * `go tool pprof -diff_base` marks the base profile. PPROF_OVERFLOW when a
 * scaled value does not fit in 64 bits.
 */
extern PprofStatus pprof_merger_add_scaled(PprofMerger *m, const PprofEnv *scratch,
										   const PprofProfile *src, double ratio,
										   bool diff_base, PprofError *err);

/* Number of profiles added (pprof_avg divides by it). */
extern uint64_t pprof_merger_count(const PprofMerger *m);

/* Sets that number, when a merger stands for several profiles (combine). */
extern void pprof_merger_set_count(PprofMerger *m, uint64_t count);

/* Bytes held by the merge state (for tests of memory growth). */
extern size_t pprof_merger_bytes(const PprofMerger *m);

/*
 * Encodes the merged profile as uncompressed protobuf, compacted as Go's
 * Merge leaves it: samples whose values sum to zero are dropped, and with
 * them whatever only they referenced. With divisor > 1 every value is
 * divided by it first, rounded as pprof's Scale rounds (pprof_avg). Does
 * not modify the merger.
 */
extern PprofStatus pprof_merger_encode(const PprofMerger *m, const PprofEnv *env,
									   int64_t divisor, uint8_t **out, size_t *outlen,
									   PprofError *err);

#endif							/* PPROF_MERGE_H */
