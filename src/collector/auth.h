/*-------------------------------------------------------------------------
 *
 * auth.h
 *	  Who a request is: API tokens checked against PostgreSQL (cached for
 *	  seconds), a fronting proxy's tenant header, or no authentication;
 *	  rights and the per-token ingest rate limit (auth.c).
 *
 * src/collector/auth.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_AUTH_H
#define PROFEFE_COLLECTOR_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RIGHT_READ	1u
#define RIGHT_WRITE 2u
#define RIGHT_ADMIN 4u

typedef enum AuthMode
{
	AUTH_TOKENS, AUTH_NONE, AUTH_HEADER
} AuthMode;

/* The caller a request was found to be. */
typedef struct Principal
{
	char		tenant[64];
	unsigned	rights;			/* RIGHT_* (admin implies read and write) */
	char		token_id[16];	/* "" without a token */
	size_t		max_body;		/* the tenant's, 0 = the collector's -max-body */
	double		rate;			/* profiles a second this token may send, 0 = no limit */
	int			burst;
} Principal;

/* What a refused request gets. */
typedef struct AuthRefusal
{
	int			status;			/* 401, 403, 429 or 503 */
	int			retry_after;	/* seconds, for 429 */
	char		message[1024];
} AuthRefusal;

bool		auth_init(char *err, size_t errlen);
bool		auth_identify(const char *authorization, const char *tenant_header, const struct sockaddr *client,
						  Principal *who, AuthRefusal *no);
bool		auth_permits(const Principal *who, unsigned need, AuthRefusal *no);
bool		auth_take_ingest(const Principal *who, AuthRefusal *no);
const char *auth_mode_name(AuthMode m);
bool		addr_is_loopback(const char *addr);

#endif
