/*-------------------------------------------------------------------------
 *
 * tenant.c
 *	  current_tenant(), worked out once a transaction (0.8.0).
 *
 * Who the caller acts for is current_tenant_resolve() (sql/profefe.sql):
 * its pins in tenant_roles, else profefe.tenant for the collector's role
 * and administrators, else 'default'. Every save, find and row-level
 * security check asks, and the answer cost ~0.1-0.15 ms a time (three
 * plpgsql calls and their queries), asked two or three times in each of
 * the collector's transactions. So current_tenant() keeps the last answer
 * and gives it again while nothing it depends on can have changed: the
 * same transaction, subtransaction and command (any write in the
 * transaction, to tenant_roles or a GRANT among them, moves the command
 * counter on), the same outer role, session user and profefe.tenant.
 * Another session's change to the pins counts from the next transaction.
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
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "profefe.h"

PG_FUNCTION_INFO_V1(profefe_current_tenant);

static struct
{
	bool		valid;
	LocalTransactionId lxid;
	SubTransactionId subxid;
	CommandId	cid;
	Oid			outer;
	Oid			session;
	char	   *setting;		/* profefe.tenant then (TopMemoryContext) */
	text	   *tenant;			/* the answer (TopMemoryContext) */
} memo;

static bool
memo_holds(void)
{
	const char *setting = profefe_tenant_setting ? profefe_tenant_setting : "";

	return memo.valid && memo.lxid == PROFEFE_MY_LXID && memo.subxid == GetCurrentSubTransactionId() &&
		memo.cid == GetCurrentCommandId(false) && memo.outer == GetOuterUserId() &&
		memo.session == GetSessionUserId() && strcmp(memo.setting, setting) == 0;
}

/* current_tenant() RETURNS text */
Datum
profefe_current_tenant(PG_FUNCTION_ARGS)
{
	List	   *name;
	Oid			fn;
	Datum		t;
	MemoryContext old;

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
	memo.valid = true;
	PG_RETURN_TEXT_P(DatumGetTextPCopy(t));
}
