/*-------------------------------------------------------------------------
 *
 * tenant.c
 *	  current_tenant(), kept until what it depends on changes (0.8.0).
 *
 * Who the caller acts for is current_tenant_resolve() (sql/profefe.sql):
 * its pins in tenant_roles, else profefe.tenant for the collector's role
 * and administrators, else 'default'. Every save, find and row-level
 * security check asks, and the answer cost ~0.2 ms a time (three plpgsql
 * calls and their queries), asked at least once in each of the collector's
 * transactions. So current_tenant() keeps the last answer, for the same
 * outer role, session user and profefe.tenant, until something it depends
 * on may have changed:
 *   - tenant_roles written: its statement trigger (tenant_roles_changed)
 *     sends a relcache invalidation, which every backend applies at its
 *     next transaction or lock (this one at its next command, and on
 *     rollback);
 *   - a role's attributes or memberships (pg_authid, pg_auth_members):
 *     their syscache invalidations;
 *   - and, for anything that bypasses the trigger (disabled triggers,
 *     session_replication_role = replica), at most a second later: past
 *     its transaction, an answer is kept for one second only.
 * Within a transaction a write moves the command counter, which also
 * drops the answer.
 *
 * src/pg/tenant.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "profefe.h"

PG_FUNCTION_INFO_V1(profefe_current_tenant);
PG_FUNCTION_INFO_V1(profefe_tenant_roles_changed);

/* how long an answer outlives its transaction, at most */
#define MEMO_USECS (1000 * 1000)

static struct
{
	bool		valid;
	LocalTransactionId lxid;
	SubTransactionId subxid;
	CommandId	cid;
	Oid			outer;
	Oid			session;
	Oid			roles_rel;		/* profefe.tenant_roles, whose invalidation drops it */
	TimestampTz made;
	char	   *setting;		/* profefe.tenant then (TopMemoryContext) */
	text	   *tenant;			/* the answer (TopMemoryContext) */
} memo;

static bool
memo_holds(void)
{
	const char *setting = profefe_tenant_setting ? profefe_tenant_setting : "";

	if (!memo.valid || memo.outer != GetOuterUserId() || memo.session != GetSessionUserId() ||
		strcmp(memo.setting, setting) != 0)
		return false;
	if (memo.lxid == PROFEFE_MY_LXID)
		return memo.subxid == GetCurrentSubTransactionId() && memo.cid == GetCurrentCommandId(false);
	return GetCurrentTimestamp() - memo.made < MEMO_USECS;
}

static void
memo_drop_rel(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == memo.roles_rel)
		memo.valid = false;
}

static void
memo_drop_sys(Datum arg, int cacheid, uint32 hashvalue)
{
	memo.valid = false;
}

static void
register_callbacks(void)
{
	static bool done;

	if (done)
		return;
	CacheRegisterRelcacheCallback(memo_drop_rel, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, memo_drop_sys, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, memo_drop_sys, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, memo_drop_sys, (Datum) 0);
	done = true;
}

/*
 * tenant_roles_changed() RETURNS trigger, AFTER INSERT OR UPDATE OR DELETE
 * OR TRUNCATE ON tenant_roles FOR EACH STATEMENT: every backend's kept
 * current_tenant() answer is dropped when the pins change.
 */
Datum
profefe_tenant_roles_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "tenant_roles_changed must run as a trigger");
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}

/* current_tenant() RETURNS text */
Datum
profefe_current_tenant(PG_FUNCTION_ARGS)
{
	List	   *name;
	Oid			fn;
	Datum		t;
	MemoryContext old;

	register_callbacks();
	if (memo_holds())
		PG_RETURN_TEXT_P(DatumGetTextPCopy(PointerGetDatum(memo.tenant)));

	memo.valid = false;
	name = list_make2(makeString("profefe"), makeString("current_tenant_resolve"));
	fn = LookupFuncName(name, 0, NULL, false);
	t = OidFunctionCall0Coll(fn, DEFAULT_COLLATION_OID);	/* errors pass through */

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (memo.setting)
		pfree(memo.setting);
	if (memo.tenant)
		pfree(memo.tenant);
	memo.setting = pstrdup(profefe_tenant_setting ? profefe_tenant_setting : "");
	memo.tenant = DatumGetTextPCopy(t);
	MemoryContextSwitchTo(old);
	memo.lxid = PROFEFE_MY_LXID;
	memo.subxid = GetCurrentSubTransactionId();
	memo.cid = GetCurrentCommandId(false);
	memo.outer = GetOuterUserId();
	memo.session = GetSessionUserId();
	memo.roles_rel = get_relname_relid("tenant_roles", get_namespace_oid("profefe", false));
	memo.made = GetCurrentTimestamp();
	memo.valid = true;
	PG_RETURN_TEXT_P(DatumGetTextPCopy(t));
}
