/* idempotency.c — the Idempotency-Key header of POST /api/maps and POST /api/export (SYSTEM.md
 * §3): a client that retries after a lost answer gets the first answer back and creates nothing
 * new.
 *
 * How: with a key, the handler runs inside one transaction that first takes an advisory lock on
 * (caller, key) and looks for a stored answer. Found: it is answered again (same status and body,
 * plus `Idempotent-Replayed: true`), or 422 when the first request had another body. Not found:
 * the handler makes what it makes and records its answer in the same transaction, so either both
 * the new rows and the answer are committed or neither is. A second request with the same key that
 * arrives meanwhile waits on the lock and then finds the answer; a crash leaves nothing behind.
 * Only successful answers (2xx) are kept: an error creates nothing, so a retry simply runs again.
 *
 * Rows live 24 hours (API_IDEMPOTENCY_TTL_SQL): older ones are never answered from, and each new
 * row deletes a small batch of expired ones, so the table stays about one day of keys without a
 * separate maintenance job. The key itself is stored only as its SHA-256; the edit token in the
 * answer of POST /api/maps is stored encrypted with a key stream derived from the Idempotency-Key,
 * so the database alone never hands out edit rights (auth.c keeps only the token's hash). */
#include "api/api_internal.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_IDEMPOTENCY_TTL_SQL "interval '24 hours'"
#define EXPIRED_BATCH "100" /* expired rows deleted with each new one */

static void sha256_hex(const void *data, size_t len, char out[API_TOKEN_HASH_LEN + 1])
{
    gchar *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
    snprintf(out, API_TOKEN_HASH_LEN + 1, "%s", hex);
    g_free(hex);
}

/* The caller, as a hash: its bearer credential when it sends one (a worker, the operator, a
 * map's owner), else its address. */
static void caller_scope(api_request *r, char out[API_TOKEN_HASH_LEN + 1])
{
    const char *auth = api_request_value(r, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    awm_buf b = {0};
    if (auth && !strncasecmp(auth, "Bearer ", 7))
        awm_buf_printf(&b, "bearer\n%s", auth + 7);
    else
        awm_buf_printf(&b, "address\n%s", r->client);
    sha256_hex(b.data, b.len, out);
    explicit_bzero(b.data, b.len);
    awm_buf_free(&b);
}

/* Key stream for sealing a secret of len bytes (at most 64): SHA-256 blocks over the raw key and
 * the caller. Only a client presenting the key can open what was sealed with it. */
static void key_stream(const api_idempotency *idem, unsigned char *out, size_t len)
{
    for (unsigned block = 0; block * 32 < len; block++) {
        GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
        unsigned char tag[2] = {0, (unsigned char)block};
        g_checksum_update(c, (const guchar *)"awm-idempotency-seal", 20);
        g_checksum_update(c, tag, sizeof tag);
        g_checksum_update(c, (const guchar *)idem->key, (gssize)strlen(idem->key));
        g_checksum_update(c, tag, 1);
        g_checksum_update(c, (const guchar *)idem->scope, API_TOKEN_HASH_LEN);
        guint8 digest[32];
        gsize n = sizeof digest;
        g_checksum_get_digest(c, digest, &n);
        g_checksum_free(c);
        size_t take = len - block * 32 < 32 ? len - block * 32 : 32;
        memcpy(out + block * 32, digest, take);
        explicit_bzero(digest, sizeof digest);
    }
}

static void seal(const api_idempotency *idem, const char *secret, unsigned char *out, size_t len)
{
    unsigned char ks[64];
    key_stream(idem, ks, len);
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)secret[i] ^ ks[i];
    explicit_bzero(ks, sizeof ks);
}

static void rollback(api_request *r)
{
    if (r->db && PQtransactionStatus(r->db) != PQTRANS_IDLE)
        db_run(r->db, "rollback", "ROLLBACK", NULL);
}

/* Answer the stored row again. */
static void replay(api_request *r, const api_idempotency *idem, PGresult *row)
{
    unsigned status = (unsigned)atoi(PQgetvalue(row, 0, 1));
    const char *stored = PQgetvalue(row, 0, 2);
    size_t stored_len = (size_t)PQgetlength(row, 0, 2);
    awm_buf b = {0};
    if (!PQgetisnull(row, 0, 3)) {
        size_t at = (size_t)atol(PQgetvalue(row, 0, 3));
        size_t sealed_len;
        unsigned char *sealed = PQunescapeBytea((const unsigned char *)PQgetvalue(row, 0, 4), &sealed_len);
        if (!sealed || at > stored_len || sealed_len > 64) {
            PQfreemem(sealed);
            api_respond_fault(r, "a stored idempotent answer is damaged");
            return;
        }
        char secret[65];
        seal(idem, (const char *)sealed, (unsigned char *)secret, sealed_len); /* XOR opens it too */
        awm_buf_append(&b, stored, at);
        awm_buf_append(&b, secret, sealed_len);
        awm_buf_append(&b, stored + at, stored_len - at);
        explicit_bzero(secret, sizeof secret);
        PQfreemem(sealed);
    } else {
        awm_buf_append(&b, stored, stored_len);
    }
    api_response_header(r, "Idempotent-Replayed", "true");
    api_respond_json_text(r, status, b.data, b.len);
    explicit_bzero(b.data, b.len);
    awm_buf_free(&b);
    awm_log(AWM_LOG_INFO, "IDEMPOTENT_REPLAY", "{s:s, s:i}", "requestId", r->request_id, "status", (int)status);
}

bool api_idempotency_begin(api_request *r, const char *route, api_idempotency *idem)
{
    memset(idem, 0, sizeof *idem);
    const char *key = api_request_value(r, MHD_HEADER_KIND, "Idempotency-Key");
    if (!key)
        return true;
    size_t n = strlen(key);
    bool printable = n > 0;
    for (size_t i = 0; i < n && printable; i++)
        printable = key[i] > 0x20 && key[i] < 0x7f;
    if (n > API_IDEMPOTENCY_KEY_MAX || !printable) {
        api_respond_error(r, 400, json_pack("{s:i}", "limit", API_IDEMPOTENCY_KEY_MAX),
                          "Idempotency-Key must be 1 to %d visible ASCII characters (a UUID is usual)",
                          API_IDEMPOTENCY_KEY_MAX);
        return false;
    }
    snprintf(idem->key, sizeof idem->key, "%s", key);
    caller_scope(r, idem->scope);
    sha256_hex(idem->key, n, idem->key_hash);
    awm_buf b = {0};
    awm_buf_printf(&b, "%s %s\n", r->method, route);
    awm_buf_append(&b, r->body.data ? r->body.data : "", r->body.len);
    sha256_hex(b.data, b.len, idem->request_hash);
    awm_buf_free(&b);

    if (!api_db(r))
        return false;
    awm_error err = {{0}};
    if (!api_begin(r, &err)) {
        api_respond_db_error(r, &err);
        return false;
    }
    /* The lock's id: 64 bits of a hash of (caller, key). Held until the transaction ends. */
    const char *params[] = {idem->scope, idem->key_hash};
    PGresult *lock = api_query(r, "cannot lock the idempotency key",
                               "SELECT pg_advisory_xact_lock(('x' || substr(md5($1 || $2), 1, 16))::bit(64)::bigint)",
                               2, params, &err);
    PGresult *row = lock ? api_query(r, "cannot read the idempotency key",
                                     "SELECT request_sha256, status, response, secret_at, sealed_secret "
                                     "FROM idempotency_keys WHERE scope = $1 AND key_sha256 = $2 AND "
                                     "created_at > now() - " API_IDEMPOTENCY_TTL_SQL,
                                     2, params, &err)
                         : NULL;
    PQclear(lock);
    if (!row) {
        rollback(r);
        api_respond_db_error(r, &err);
        return false;
    }
    if (PQntuples(row) == 0) {
        PQclear(row);
        idem->active = true; /* the transaction stays open for the handler */
        return true;
    }
    rollback(r);
    if (strcmp(PQgetvalue(row, 0, 0), idem->request_hash))
        api_respond_error(r, 422, NULL, "this Idempotency-Key was already used with a different request "
                                        "(within 24 hours); use a new key for a new request");
    else
        replay(r, idem, row);
    PQclear(row);
    return false;
}

bool api_idempotency_record(api_request *r, const api_idempotency *idem, unsigned status, const char *body,
                            size_t len, const char *secret, size_t secret_at, awm_error *err)
{
    if (!idem->active)
        return true;
    char status_text[16], at_text[24];
    snprintf(status_text, sizeof status_text, "%u", status);
    snprintf(at_text, sizeof at_text, "%zu", secret_at);
    awm_buf stored = {0};
    char *sealed_hex = NULL;
    if (secret) {
        size_t n = strlen(secret);
        unsigned char sealed[64];
        if (n > sizeof sealed || secret_at + n > len) {
            awm_error_set(err, "idempotency: a secret of %zu bytes cannot be sealed", n);
            return false;
        }
        seal(idem, secret, sealed, n);
        sealed_hex = awm_xcalloc(1, 2 * n + 3);
        strcpy(sealed_hex, "\\x");
        for (size_t i = 0; i < n; i++)
            snprintf(sealed_hex + 2 + 2 * i, 3, "%02x", sealed[i]);
        awm_buf_append(&stored, body, secret_at);
        awm_buf_append(&stored, body + secret_at + n, len - secret_at - n);
    } else {
        awm_buf_append(&stored, body, len);
    }
    const char *params[] = {idem->scope, idem->key_hash, idem->request_hash, status_text,
                            stored.data ? stored.data : "", secret ? at_text : NULL, sealed_hex};
    PGresult *del = api_query(r, "cannot delete expired idempotency keys",
                              "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM "
                              "idempotency_keys WHERE created_at <= now() - " API_IDEMPOTENCY_TTL_SQL
                              " LIMIT " EXPIRED_BATCH " FOR UPDATE SKIP LOCKED))",
                              0, NULL, err);
    /* An expired row of the same caller and key is replaced. */
    PGresult *ins = del ? api_query(r, "cannot record the idempotent answer",
                                    "INSERT INTO idempotency_keys (scope, key_sha256, request_sha256, status, "
                                    "response, secret_at, sealed_secret) VALUES ($1, $2, $3, $4::int, $5, "
                                    "$6::int, $7::bytea) ON CONFLICT (scope, key_sha256) DO UPDATE SET "
                                    "request_sha256 = EXCLUDED.request_sha256, status = EXCLUDED.status, "
                                    "response = EXCLUDED.response, secret_at = EXCLUDED.secret_at, "
                                    "sealed_secret = EXCLUDED.sealed_secret, created_at = now()",
                                    7, params, err)
                        : NULL;
    bool ok = ins != NULL;
    PQclear(del);
    PQclear(ins);
    free(sealed_hex);
    awm_buf_free(&stored);
    return ok;
}

void api_idempotency_end(api_request *r, const api_idempotency *idem)
{
    if (idem->active)
        rollback(r); /* nothing was committed: the handler answered an error */
}
