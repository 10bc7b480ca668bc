/*-------------------------------------------------------------------------
 *
 * auth.c
 *	  Who a request is (docs/security.md).
 *
 *	  -auth tokens: "Authorization: Bearer TOKEN", or Basic with the token
 *	  as the password (or as the user name when the password is empty), so
 *	  that go tool pprof's and profefe's agent's https://u:TOKEN@host URLs
 *	  work. A token is checked by profefe.verify_api_token (its secret
 *	  hashed and compared in PostgreSQL); a verified one is kept here for
 *	  -auth.cache (5s): a revocation or expiry takes effect within that
 *	  long. The cache compares secrets in constant time, and never keeps
 *	  failures, so that it is no oracle.
 *	  -auth header: the tenant named in -auth.header, from the addresses in
 *	  -auth.trusted-proxies only.
 *	  -auth none: everyone is the default tenant with every right.
 *
 * src/collector/auth.c
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db.h"
#include "metrics.h"
#include "settings.h"
#include "util.h"

#define TOKEN_ID_LEN 12
#define TOKEN_SECRET_LEN 64
#define TOKEN_LEN (3 + TOKEN_ID_LEN + 1 + TOKEN_SECRET_LEN)
#define CACHE_SLOTS 4096

typedef struct CacheEntry
{
	bool		used;
	char		token_id[TOKEN_ID_LEN + 1];
	char		secret[TOKEN_SECRET_LEN + 1];
	Principal	who;
	int64_t		verified_us;
	int64_t		expires_us;		/* 0 = never */
	/* the ingest rate limit's bucket */
	double		tokens;
	int64_t		refilled_us;
} CacheEntry;

static CacheEntry *cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct Cidr
{
	int			family;
	unsigned char addr[16];
	int			bits;
} Cidr;

static Cidr *proxies;
static int	nproxies;

const char *
auth_mode_name(AuthMode m)
{
	return m == AUTH_TOKENS ? "tokens" : m == AUTH_NONE ? "none" : "header";
}

/* Whether an -addr listens on loopback only (127.0.0.0/8, ::1, localhost). */
bool
addr_is_loopback(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	char		host[256];

	if (colon == NULL || colon == addr)
		return false;			/* ":port": every address */
	snprintf(host, sizeof(host), "%.*s", (int) (colon - addr), addr);
	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0)
		return true;
	return strncmp(host, "127.", 4) == 0;
}

static bool
parse_cidr(const char *s, Cidr *c)
{
	char		buf[128];
	char	   *slash;
	int			max;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1)
	{
		c->family = AF_INET;
		max = 32;
	}
	else if (inet_pton(AF_INET6, buf, c->addr) == 1)
	{
		c->family = AF_INET6;
		max = 128;
	}
	else
		return false;
	c->bits = max;
	if (slash)
	{
		char	   *end;
		long		b = strtol(slash + 1, &end, 10);

		if (*end != '\0' || slash[1] == '\0' || b < 0 || b > max)
			return false;
		c->bits = (int) b;
	}
	return true;
}

static bool
prefix_matches(const unsigned char *a, const unsigned char *b, int bits)
{
	int			full = bits / 8,
				rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

static bool
trusted(const struct sockaddr *sa)
{
	unsigned char v4[4] = {0},
				v6[16] = {0};

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		memcpy(v4, &((const struct sockaddr_in *) sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
	{
		memcpy(v6, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
		/* an IPv4 client on a dual-stack socket comes as ::ffff:a.b.c.d */
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *) v6))
			memcpy(v4, v6 + 12, 4);
	}
	for (int i = 0; i < nproxies; i++)
	{
		const Cidr *c = &proxies[i];

		if (c->family == AF_INET && (sa->sa_family == AF_INET ||
									 IN6_IS_ADDR_V4MAPPED((const struct in6_addr *) v6)) &&
			prefix_matches(v4, c->addr, c->bits))
			return true;
		if (c->family == AF_INET6 && sa->sa_family == AF_INET6 && prefix_matches(v6, c->addr, c->bits))
			return true;
	}
	return false;
}

bool
auth_init(char *err, size_t errlen)
{
	cache = calloc(CACHE_SLOTS, sizeof(CacheEntry));
	if (cache == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if (settings.auth_trusted_proxies && *settings.auth_trusted_proxies)
	{
		char	   *list = strdup(settings.auth_trusted_proxies),
				   *save = NULL;
		int			n = 1;

		for (const char *p = list; *p; p++)
			n += *p == ',';
		proxies = calloc(n, sizeof(Cidr));
		for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		{
			if (!parse_cidr(t, &proxies[nproxies]))
			{
				snprintf(err, errlen, "invalid -auth.trusted-proxies entry \"%s\": want an address or address/bits", t);
				free(list);
				return false;
			}
			nproxies++;
		}
		free(list);
	}
	if (settings.auth_mode == AUTH_HEADER && nproxies == 0)
	{
		snprintf(err, errlen, "-auth header needs -auth.trusted-proxies (the addresses of the proxies that set %s)",
				 settings.auth_header);
		return false;
	}
	return true;
}

/* A tenant name as current_tenant() accepts it. */
static bool
tenant_valid(const char *t)
{
	size_t		n = strlen(t);

	if (n == 0 || n > 63 || !isalnum((unsigned char) t[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char) t[i]) && t[i] != '.' && t[i] != '_' && t[i] != '-')
			return false;
	return true;
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Standard base64 (RFC 4648, '=' padding optional) into out; false when
 * malformed or longer than outlen - 1. (Twenty lines: none of the
 * collector's libraries exports a decoder.)
 */
static bool
b64_decode(const char *in, char *out, size_t outlen)
{
	size_t		n = 0;
	unsigned	acc = 0;
	int			bits = 0;

	for (; *in && *in != '='; in++)
	{
		int			v = b64_value((unsigned char) *in);

		if (v < 0)
			return false;
		acc = (acc << 6) | (unsigned) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			if (n + 1 >= outlen)
				return false;
			out[n++] = (char) ((acc >> bits) & 0xff);
		}
	}
	while (*in == '=')
		in++;
	if (*in != '\0')
		return false;
	out[n] = '\0';
	return memchr(out, '\0', n) == NULL;
}

/* The token an Authorization header carries into tok; false when none. */
static bool
token_of(const char *authorization, char *tok, size_t toklen)
{
	const char *p = authorization;

	while (*p == ' ')
		p++;
	if (strncasecmp(p, "Bearer ", 7) == 0)
	{
		p += 7;
		while (*p == ' ')
			p++;
		snprintf(tok, toklen, "%s", p);
	}
	else if (strncasecmp(p, "Basic ", 6) == 0)
	{
		char		userpass[512];
		char	   *colon;

		p += 6;
		while (*p == ' ')
			p++;
		if (!b64_decode(p, userpass, sizeof(userpass)))
			return false;
		colon = strchr(userpass, ':');
		if (colon && colon[1] != '\0')
			snprintf(tok, toklen, "%s", colon + 1);
		else
		{
			if (colon)
				*colon = '\0';
			snprintf(tok, toklen, "%s", userpass);
		}
	}
	else
		return false;
	/* trailing spaces are not part of it */
	for (size_t n = strlen(tok); n > 0 && tok[n - 1] == ' '; n--)
		tok[n - 1] = '\0';
	return tok[0] != '\0';
}

/* pf_<12 hex>_<64 hex> */
static bool
token_well_formed(const char *t)
{
	if (strlen(t) != TOKEN_LEN || strncmp(t, "pf_", 3) != 0 || t[3 + TOKEN_ID_LEN] != '_')
		return false;
	for (int i = 3; i < TOKEN_LEN; i++)
		if (i != 3 + TOKEN_ID_LEN && !((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return false;
	return true;
}

/* Equal strings of len bytes, in time that does not depend on where they differ. */
static bool
same_secret(const char *a, const char *b, size_t len)
{
	volatile unsigned char d = 0;

	for (size_t i = 0; i < len; i++)
		d |= (unsigned char) a[i] ^ (unsigned char) b[i];
	return d == 0;
}

static unsigned
slot_of(const char *token_id)
{
	unsigned	h = 2166136261u;

	for (const char *p = token_id; *p; p++)
		h = (h ^ (unsigned char) *p) * 16777619u;
	return h % CACHE_SLOTS;
}

static void
refuse(AuthRefusal *no, int status, const char *msg)
{
	no->status = status;
	no->retry_after = 0;
	snprintf(no->message, sizeof(no->message), "%s", msg);
}

static unsigned
rights_of(const char *list)
{
	unsigned	r = 0;
	char		buf[64];
	char	   *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		r |= strcmp(t, "read") == 0 ? RIGHT_READ : strcmp(t, "write") == 0 ? RIGHT_WRITE :
			strcmp(t, "admin") == 0 ? RIGHT_ADMIN | RIGHT_READ | RIGHT_WRITE : 0;
	return r;
}

/* Asks PostgreSQL; fills who when the token is valid. */
static bool
verify_in_db(const char *token, Principal *who, int64_t *expires_us, AuthRefusal *no)
{
	DbError		err;
	DbConn	   *c = db_acquire(&err);
	PGresult   *res;
	const char *values[1] = {token};
	bool		ok = false;

	if (c == NULL)
	{
		refuse(no, 503, err.message);
		return false;
	}
	res = db_exec(c, STMT_VERIFY_TOKEN, 1, values, NULL, NULL, 0, &err);
	db_release(c);
	if (res == NULL)
	{
		if (strcmp(err.sqlstate, "42501") == 0)
			snprintf(err.message, sizeof(err.message),
					 "the collector's database role cannot check tokens (GRANT profefe_collector TO it, "
					 "or run with -auth none)");
		refuse(no, 503, err.message);
		return false;
	}
	if (PQntuples(res) == 1)
	{
		double		exp = strtod(PQgetvalue(res, 0, 3), NULL);

		memset(who, 0, sizeof(*who));
		snprintf(who->tenant, sizeof(who->tenant), "%s", PQgetvalue(res, 0, 1));
		who->rights = rights_of(PQgetvalue(res, 0, 2));
		snprintf(who->token_id, sizeof(who->token_id), "%s", PQgetvalue(res, 0, 0));
		who->max_body = (size_t) strtoull(PQgetvalue(res, 0, 4), NULL, 10);
		who->rate = strtod(PQgetvalue(res, 0, 5), NULL);
		who->burst = atoi(PQgetvalue(res, 0, 6));
		*expires_us = exp > 0 ? (int64_t) (exp * 1e6) : 0;
		ok = true;
	}
	else
		refuse(no, 401, "invalid token: unknown, revoked or expired");
	PQclear(res);
	return ok;
}

static bool
identify_token(const char *authorization, Principal *who, AuthRefusal *no)
{
	char		tok[512];
	char		id[TOKEN_ID_LEN + 1];
	const char *secret;
	CacheEntry *e;
	int64_t		now = now_us();
	int64_t		expires_us = 0;
	bool		hit = false;

	if (authorization == NULL || *authorization == '\0')
	{
		refuse(no, 401, "authentication required: send Authorization: Bearer <token> "
			   "(or Basic with the token as the password)");
		return false;
	}
	if (!token_of(authorization, tok, sizeof(tok)))
	{
		refuse(no, 401, "unsupported Authorization header: want Bearer <token>, or Basic with the token as the password");
		return false;
	}
	if (!token_well_formed(tok))
	{
		refuse(no, 401, "invalid token: not a profefe token (pf_<id>_<secret>)");
		return false;
	}
	memcpy(id, tok + 3, TOKEN_ID_LEN);
	id[TOKEN_ID_LEN] = '\0';
	secret = tok + 3 + TOKEN_ID_LEN + 1;

	pthread_mutex_lock(&cache_lock);
	e = &cache[slot_of(id)];
	if (e->used && strcmp(e->token_id, id) == 0 && same_secret(e->secret, secret, TOKEN_SECRET_LEN) &&
		now - e->verified_us < (int64_t) settings.auth_cache_ms * 1000 &&
		(e->expires_us == 0 || now < e->expires_us))
	{
		*who = e->who;
		hit = true;
	}
	pthread_mutex_unlock(&cache_lock);
	metrics_auth(hit);
	if (hit)
		return true;

	if (!verify_in_db(tok, who, &expires_us, no))
	{
		/* a token that failed is not kept: drop what was cached of it */
		pthread_mutex_lock(&cache_lock);
		if (e->used && strcmp(e->token_id, id) == 0 && no->status == 401)
			e->used = false;
		pthread_mutex_unlock(&cache_lock);
		return false;
	}
	pthread_mutex_lock(&cache_lock);
	if (!(e->used && strcmp(e->token_id, id) == 0))
	{
		/* a new entry (or another token's slot): a full bucket */
		memset(e, 0, sizeof(*e));
		e->tokens = who->burst;
		e->refilled_us = now;
	}
	e->used = true;
	memcpy(e->token_id, id, sizeof(e->token_id));
	memcpy(e->secret, secret, TOKEN_SECRET_LEN);
	e->secret[TOKEN_SECRET_LEN] = '\0';
	e->who = *who;
	e->verified_us = now;
	e->expires_us = expires_us;
	pthread_mutex_unlock(&cache_lock);
	return true;
}

bool
auth_identify(const char *authorization, const char *tenant_header, const struct sockaddr *client,
			  Principal *who, AuthRefusal *no)
{
	memset(who, 0, sizeof(*who));
	switch (settings.auth_mode)
	{
		case AUTH_NONE:
			snprintf(who->tenant, sizeof(who->tenant), "default");
			who->rights = RIGHT_READ | RIGHT_WRITE | RIGHT_ADMIN;
			return true;
		case AUTH_HEADER:
			if (!trusted(client))
			{
				refuse(no, 403, "forbidden: requests must come through a trusted proxy (-auth.trusted-proxies)");
				return false;
			}
			if (tenant_header == NULL || *tenant_header == '\0')
			{
				snprintf(no->message, sizeof(no->message), "authentication required: no %s header from the proxy",
						 settings.auth_header);
				no->status = 401;
				no->retry_after = 0;
				return false;
			}
			if (!tenant_valid(tenant_header))
			{
				snprintf(no->message, sizeof(no->message),
						 "invalid %s header: a tenant is 1 to 63 letters, digits, dots, dashes and underscores",
						 settings.auth_header);
				no->status = 401;
				no->retry_after = 0;
				return false;
			}
			snprintf(who->tenant, sizeof(who->tenant), "%s", tenant_header);
			who->rights = RIGHT_READ | RIGHT_WRITE | RIGHT_ADMIN;
			return true;
		case AUTH_TOKENS:
		default:
			return identify_token(authorization, who, no);
	}
}

bool
auth_permits(const Principal *who, unsigned need, AuthRefusal *no)
{
	if ((who->rights & need) == need)
		return true;
	snprintf(no->message, sizeof(no->message), "forbidden: this %s has no %s right",
			 who->token_id[0] ? "token" : "caller",
			 need & RIGHT_ADMIN ? "admin" : need & RIGHT_WRITE ? "write" : "read");
	no->status = 403;
	no->retry_after = 0;
	return false;
}

/*
 * One profile's worth of the token's ingest rate (a token bucket of
 * `burst`, refilled at `rate` a second); 429 with the seconds until the
 * next one when it is empty. Per collector: N collectors allow N times it.
 */
bool
auth_take_ingest(const Principal *who, AuthRefusal *no)
{
	CacheEntry *e;
	int64_t		now = now_us();
	bool		ok = true;
	double		wait = 0;

	if (who->rate <= 0 || who->token_id[0] == '\0')
		return true;
	pthread_mutex_lock(&cache_lock);
	e = &cache[slot_of(who->token_id)];
	if (e->used && strcmp(e->token_id, who->token_id) == 0)
	{
		e->tokens += (now - e->refilled_us) / 1e6 * who->rate;
		if (e->tokens > who->burst)
			e->tokens = who->burst;
		e->refilled_us = now;
		if (e->tokens >= 1)
			e->tokens -= 1;
		else
		{
			ok = false;
			wait = (1 - e->tokens) / who->rate;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	if (!ok)
	{
		no->status = 429;
		no->retry_after = (int) ceil(wait);
		if (no->retry_after < 1)
			no->retry_after = 1;
		snprintf(no->message, sizeof(no->message),
				 "too many requests: this token may send %.3g profiles a second (burst %d); retry in %d s",
				 who->rate, who->burst, no->retry_after);
	}
	return ok;
}
