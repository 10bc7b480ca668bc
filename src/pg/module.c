/*-------------------------------------------------------------------------
 *
 * module.c
 *	  The extension's entry point and its settings.
 *
 * src/pg/module.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <limits.h>

#include "utils/guc.h"
#include "utils/memutils.h"

#include "profefe.h"

PG_MODULE_MAGIC;

/* Default cap on a decompressed profile a client sends: 256MB. */
int			profefe_max_profile_size = 256 * 1024 * 1024;

char	   *profefe_retention = NULL;
char	   *profefe_retention_hourly = NULL;
char	   *profefe_retention_daily = NULL;
char	   *profefe_rollup_delay = NULL;
bool		profefe_use_rollups = true;
static bool profefe_retention_running = false;
static bool profefe_packing_running = false;
static bool profefe_pack = true;
static int	profefe_pack_max_profiles = 1000;
static int	profefe_pack_max_size = 4096;
static char *profefe_rollup_budget = NULL;
static char *profefe_rollup_rebuild_interval = NULL;
int			profefe_pack_level = 9;
bool		profefe_pack_split = true;
char	   *profefe_tenant_setting = NULL;
static char *profefe_idempotency_window = NULL;
static int	profefe_max_samples = 100000;
static int	profefe_max_depth = 1000;
static int	profefe_max_labels = 30;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("profefe.max_profile_size",
							"Largest decompressed profile profefe accepts from a client.",
							"Inputs that inflate past this are rejected before they can use "
							"more memory. Profiles already stored stay readable when it is lowered.",
							&profefe_max_profile_size,
							256 * 1024 * 1024,
							1024,
							(int) PROFEFE_MAX_DECODED,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.retention",
							   "How long stored profiles are kept.",
							   "apply_retention() drops partitions and deletes profiles older "
							   "than this interval.",
							   &profefe_retention,
							   "5 days",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.retention_hourly",
							   "How long hourly rollups are kept.",
							   "apply_retention() drops hourly rollups older than this interval.",
							   &profefe_retention_hourly,
							   "30 days",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.retention_daily",
							   "How long daily rollups are kept.",
							   "apply_retention() drops daily rollups older than this interval.",
							   &profefe_retention_daily,
							   "400 days",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.rollup_budget",
							   "How long one refresh_rollups() call builds before it stops between two streams.",
							   "Empty: half the statement_timeout it runs under (none without one). The next call "
							   "goes on where it stopped; every call builds one stream at least.",
							   &profefe_rollup_budget,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.rollup_delay",
							   "How long after an hour ends refresh_rollups() rolls it up.",
							   "Profiles arriving later than this for a rolled-up hour are still counted: "
							   "the hour is rolled up again.",
							   &profefe_rollup_delay,
							   "10 minutes",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.rollup_rebuild_interval",
							   "How long a rolled-up hour that got late profiles waits before refresh_rollups() rebuilds it.",
							   "Counted from its oldest change: a minute of late saves costs one rebuild, not one a "
							   "refresh. Merges read the hour raw meanwhile (the same answer); apply_retention() "
							   "rebuilds without waiting.",
							   &profefe_rollup_rebuild_interval,
							   "1 minute",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomBoolVariable("profefe.use_rollups",
							 "Whether merges and series use rollups for whole hours and days.",
							 "Off forces every merge to read the raw profiles (the results are the same).",
							 &profefe_use_rollups,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("profefe.retention_running",
							 "Set by apply_retention while it deletes: what retention removes is not a change to roll up.",
							 NULL,
							 &profefe_retention_running,
							 false,
							 PGC_SUSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("profefe.packing_running",
							 "Set by pack_hour while it deletes the rows it packed: they are not a change to roll up.",
							 NULL,
							 &profefe_packing_running,
							 false,
							 PGC_SUSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("profefe.pack",
							 "Whether pack_profiles packs the profiles of rolled-up hours.",
							 NULL,
							 &profefe_pack,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("profefe.pack_max_profiles",
							"The most profiles one pack holds.",
							NULL,
							&profefe_pack_max_profiles,
							1000, 1, 100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("profefe.pack_max_size",
							"The most bytes (as received) of the profiles one pack holds.",
							"A pack is read whole: this bounds the memory a read of one of its profiles takes "
							"(about four times this, decompressed).",
							&profefe_pack_max_size,
							4096, 64, 256 * 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("profefe.pack_level",
							"The zstd level packs are written at.",
							"Higher is smaller and slower to write; reading is as fast at any level.",
							&profefe_pack_level,
							9, 1, 19,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("profefe.pack_split",
							 "Whether packs split samples, locations and functions by field where that pays.",
							 "On (0.9.1): a stream is split when that makes it 30% smaller or more; "
							 "off writes 0.9.0's layout (larger CPU packs, a little faster to open). "
							 "Packs of either layout are read.",
							 &profefe_pack_split,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.tenant",
							   "The tenant the collector and administrators act for.",
							   "Honored only for members of profefe_collector and profefe_admin that are "
							   "not pinned to a tenant (current_tenant()); everyone else's is ignored.",
							   &profefe_tenant_setting,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("profefe.max_samples",
							"Most samples a saved profile may have (0: no limit).",
							"tenant_limits.max_samples overrides it for a tenant.",
							&profefe_max_samples,
							100000, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("profefe.max_depth",
							"Most locations a saved profile's stack may have (0: no limit).",
							"tenant_limits.max_depth overrides it for a tenant.",
							&profefe_max_depth,
							1000, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("profefe.max_labels",
							"Most labels a saved profile may have (0: no limit).",
							"tenant_limits.max_labels overrides it for a tenant.",
							&profefe_max_labels,
							30, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.idempotency_window",
							   "How long an idempotency key makes a repeated save return the first one's id.",
							   "save_profile_once() within this interval of the first save stores nothing; "
							   "apply_retention() forgets older keys.",
							   &profefe_idempotency_window,
							   "1 day",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("profefe");
}
