/* config.c — `awm serve`'s configuration from the environment (SYSTEM.md §5, the API server's
 * variables). Every bad value is an error naming the variable; nothing falls back silently. */
#include "api/api_internal.h"
#include "map/map.h"

#include <netdb.h>
#include <string.h>

/* The largest definition the validator accepts must fit a request with the default limit. */
_Static_assert(API_DEFAULT_MAX_BODY_BYTES >= MAP_MAX_DEFINITION_BYTES,
               "MAX_BODY_BYTES' default is smaller than MAP_MAX_DEFINITION_BYTES");

/* A key anyone could guess is no key: too short, or the placeholder copied from .env.example. */
static bool key_acceptable(const char *name, const char *key, awm_error *err)
{
    if (!key)
        return true;
    if (!strcmp(key, API_EXAMPLE_KEY)) {
        awm_error_setc(err, AWM_EINVALID, "%s is still the example value \"%s\" of .env.example; make a key "
                       "with: openssl rand -base64 32", name, API_EXAMPLE_KEY);
        return false;
    }
    if (strlen(key) < API_MIN_KEY_LEN) {
        awm_error_setc(err, AWM_EINVALID, "%s is too short (%zu characters; at least %d); make a key with: "
                       "openssl rand -base64 32", name, strlen(key), API_MIN_KEY_LEN);
        return false;
    }
    return true;
}

bool api_config_from_env(api_config *cfg, awm_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->database_url = awm_env_str("DATABASE_URL", NULL);
    if (!awm_env_files_ok(err)) /* DATABASE_URL_FILE unreadable: say so, not "not set" */
        return false;
    if (!cfg->database_url) {
        awm_error_set(err, "DATABASE_URL is not set (a libpq connection string, e.g. "
                           "postgresql://user:pass@localhost:5432/awm)");
        return false;
    }
    cfg->host = awm_env_str("HOST", API_DEFAULT_HOST);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(cfg->host, NULL, &hints, &ai);
    if (gai != 0) {
        awm_error_set(err, "HOST=%s: not an address this machine can listen on (%s)", cfg->host,
                      gai_strerror(gai));
        return false;
    }
    freeaddrinfo(ai);
    cfg->worker_api_key = awm_env_str("WORKER_API_KEY", NULL);
    cfg->admin_api_key = awm_env_str("ADMIN_API_KEY", NULL);
    if (!key_acceptable("WORKER_API_KEY", cfg->worker_api_key, err) ||
        !key_acceptable("ADMIN_API_KEY", cfg->admin_api_key, err))
        return false;
    cfg->allowed_hosts = awm_env_str("ALLOWED_HOSTS", NULL);
    if (!awm_env_bool("METRICS_PUBLIC", false, &cfg->metrics_public, err))
        return false;
    if (!storage_config_from_env(&cfg->storage, err))
        return false;
    long v;
    if (!awm_env_long("EXPORT_URL_EXPIRY_S", 900, 1, 604800, &v, err))
        return false;
    cfg->presign_expiry_s = (int)v;
    if (!awm_env_long("PORT", API_DEFAULT_PORT, 0, 65535, &v, err))
        return false;
    cfg->port = (int)v;
    if (!awm_env_long("MAX_BODY_BYTES", API_DEFAULT_MAX_BODY_BYTES, 1, 1L << 30, &cfg->max_body_bytes, err))
        return false;
    if (!awm_env_long("DB_POOL_SIZE", 16, 1, 1000, &v, err))
        return false;
    cfg->db_pool_size = (int)v;
    if (!awm_env_long("DB_POOL_TIMEOUT_MS", 5000, 1, 600000, &v, err))
        return false;
    cfg->db_pool_timeout_ms = (int)v;
    if (!awm_env_long("API_MAX_CONNECTIONS", 10000, 1, 1000000, &v, err))
        return false;
    cfg->max_connections = (int)v;
    if (!awm_env_long("API_MAX_CONNECTIONS_PER_IP", 64, 0, 100000, &v, err))
        return false;
    cfg->max_connections_per_ip = (int)v;
    if (!awm_env_long("API_CONNECTION_TIMEOUT_S", 30, 1, 86400, &v, err))
        return false;
    cfg->connection_timeout_s = (int)v;
    if (!awm_env_long("API_SHUTDOWN_GRACE_S", 10, 0, 3600, &v, err))
        return false;
    cfg->shutdown_grace_s = (int)v;
    if (!awm_env_long("RENDER_CONCURRENCY", 1, 1, 64, &v, err))
        return false;
    cfg->render_concurrency = (int)v;
    cfg->trusted_proxies = awm_env_str("TRUSTED_PROXIES", NULL);
    /* Per client and minute (limits.c); each name written out so the guide's check finds it. */
    long rates[API_LIMIT_COUNT];
    if (!awm_env_long("RATE_LIMIT_MAP_WRITES", 60, 0, 1000000, &rates[API_LIMIT_MAP_WRITES], err) ||
        !awm_env_long("RATE_LIMIT_EXPORTS", 20, 0, 1000000, &rates[API_LIMIT_EXPORTS], err) ||
        !awm_env_long("RATE_LIMIT_RENDERS", 120, 0, 1000000, &rates[API_LIMIT_RENDERS], err) ||
        !awm_env_long("RATE_LIMIT_PLACES", 600, 0, 1000000, &rates[API_LIMIT_PLACES], err))
        return false;
    for (int k = 0; k < API_LIMIT_COUNT; k++)
        cfg->rate_per_minute[k] = (double)rates[k];
    if (!awm_env_long("EXPORT_MAX_PENDING_PER_MAP", 5, 1, 10000, &v, err))
        return false;
    cfg->max_pending_exports = (int)v;
    if (!awm_env_long("API_IO_THREADS", 2, 1, 64, &v, err))
        return false;
    cfg->io_threads = (int)v;
    if (!awm_env_long("API_HANDLER_THREADS", 16, 1, 1024, &v, err))
        return false;
    cfg->handler_threads = (int)v;
    if (!awm_env_long("API_HEADER_TIMEOUT_S", 15, 1, 3600, &v, err))
        return false;
    cfg->header_timeout_s = (int)v;
    if (!awm_env_long("API_BODY_TIMEOUT_S", 120, 1, 86400, &v, err))
        return false;
    cfg->body_timeout_s = (int)v;
    if (!awm_env_long("DB_CONNECT_TIMEOUT_S", 5, 1, 600, &v, err))
        return false;
    cfg->db_connect_timeout_s = (int)v;
    if (!awm_env_long("DB_STATEMENT_TIMEOUT_MS", 5000, 0, 3600000, &v, err))
        return false;
    cfg->db_statement_timeout_ms = (int)v;
    return awm_env_files_ok(err);
}
