/* auth.c — who may do what (SYSTEM.md §3 "Who may do what"): the worker's key, the operator's
 * key, a map's edit token, and the Host names the server answers (DNS rebinding).
 *
 * Keys and tokens arrive as `Authorization: Bearer <secret>` and are compared in constant time.
 * An edit token is 32 random bytes in base64url (43 characters); the server keeps only its
 * SHA-256 (hex), so a leaked database does not hand out edit rights. No secret is ever logged. */
#include "api/api_internal.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <glib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

/* The secret of an `Authorization: Bearer <secret>` header, or NULL. */
static const char *bearer(api_request *r)
{
    const char *h = api_request_value(r, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    return h && !strncasecmp(h, "Bearer ", 7) ? h + 7 : NULL;
}

static bool presents(api_request *r, const char *key)
{
    const char *secret = bearer(r);
    return key && secret && awm_secret_equal(secret, key);
}

bool api_is_operator(api_request *r) { return presents(r, r->srv->cfg.admin_api_key); }
bool api_is_worker(api_request *r) { return presents(r, r->srv->cfg.worker_api_key); }

static void refuse(api_request *r, unsigned status, const char *msg)
{
    if (status == MHD_HTTP_UNAUTHORIZED)
        api_response_header(r, "WWW-Authenticate", "Bearer");
    api_respond_error(r, status, NULL, "%s", msg);
}

bool api_check_worker_auth(api_request *r)
{
    if (!r->srv->cfg.worker_api_key || api_is_worker(r))
        return true;
    refuse(r, MHD_HTTP_UNAUTHORIZED, bearer(r) ? "wrong worker API key"
                                               : "worker API key required (Authorization: Bearer <key>)");
    return false;
}

bool api_check_operator(api_request *r, const char *what)
{
    if (!r->srv->cfg.admin_api_key) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s is for the operator only, and is off: set ADMIN_API_KEY to enable it", what);
        refuse(r, MHD_HTTP_FORBIDDEN, msg);
        return false;
    }
    if (api_is_operator(r))
        return true;
    refuse(r, MHD_HTTP_UNAUTHORIZED, bearer(r) ? "wrong operator key (ADMIN_API_KEY)"
                                               : "operator key required (Authorization: Bearer <ADMIN_API_KEY>)");
    return false;
}

/* ---- edit tokens ------------------------------------------------------------------------------ */

void api_edit_token_hash(const char *token, char hash_hex[API_TOKEN_HASH_LEN + 1])
{
    gchar *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
    snprintf(hash_hex, API_TOKEN_HASH_LEN + 1, "%s", hex);
    g_free(hex);
}

void api_edit_token_new(char token[API_TOKEN_LEN + 1], char hash_hex[API_TOKEN_HASH_LEN + 1])
{
    unsigned char bytes[32];
    size_t got = 0;
    while (got < sizeof bytes) { /* the kernel's CSPRNG; it only returns short for huge sizes or signals */
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    gchar *b64 = g_base64_encode(bytes, sizeof bytes);
    size_t k = 0;
    for (const char *p = b64; *p && *p != '=' && k < API_TOKEN_LEN; p++)
        token[k++] = *p == '+' ? '-' : *p == '/' ? '_' : *p; /* base64url (RFC 4648 §5), no padding */
    token[k] = '\0';
    g_free(b64);
    explicit_bzero(bytes, sizeof bytes);
    api_edit_token_hash(token, hash_hex);
}

bool api_check_edit_token(api_request *r, const char *stored_hash, bool operator_may)
{
    if (operator_may && api_is_operator(r))
        return true;
    const char *token = bearer(r);
    if (!token) {
        refuse(r, MHD_HTTP_UNAUTHORIZED, "this map's edit token is required (Authorization: Bearer <editToken>)");
        return false;
    }
    char hash[API_TOKEN_HASH_LEN + 1];
    api_edit_token_hash(token, hash);
    /* A map made before edit tokens existed has none: only the operator may change it. */
    if (!stored_hash || !awm_secret_equal(hash, stored_hash)) {
        refuse(r, MHD_HTTP_FORBIDDEN, "wrong edit token for this map");
        return false;
    }
    return true;
}

/* ---- Host names ------------------------------------------------------------------------------- */

static void add_host(api_server *srv, const char *name, size_t len)
{
    while (len && name[len - 1] == '.') /* "localhost." is "localhost" */
        len--;
    if (!len)
        return;
    for (size_t i = 0; i < srv->allowed_host_count; i++)
        if (strlen(srv->allowed_hosts[i]) == len && !strncasecmp(srv->allowed_hosts[i], name, len))
            return;
    srv->allowed_hosts = awm_xrealloc(srv->allowed_hosts, (srv->allowed_host_count + 1) * sizeof *srv->allowed_hosts);
    char *copy = awm_xmalloc(len + 1);
    memcpy(copy, name, len);
    copy[len] = '\0';
    srv->allowed_hosts[srv->allowed_host_count++] = copy;
}

static bool is_wildcard(const char *host)
{
    return !strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "[::]") || !*host;
}

/* This machine's name and the addresses of its interfaces: the names a client on the network
 * may use for a server bound to every address. */
static void add_machine_names(api_server *srv)
{
    char name[256];
    if (gethostname(name, sizeof name) == 0) {
        name[sizeof name - 1] = '\0';
        add_host(srv, name, strlen(name));
    }
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
            continue;
        char text[INET6_ADDRSTRLEN + 2] = "[";
        socklen_t len = i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        if (getnameinfo(i->ifa_addr, len, text + 1, sizeof text - 2, NULL, 0, NI_NUMERICHOST) != 0)
            continue;
        if (i->ifa_addr->sa_family == AF_INET6) {
            if (strchr(text, '%')) /* link-local with a zone: not a Host a browser sends */
                continue;
            strcat(text, "]");
            add_host(srv, text, strlen(text));
        } else {
            add_host(srv, text + 1, strlen(text + 1));
        }
    }
    freeifaddrs(ifs);
}

void api_allowed_hosts_init(api_server *srv)
{
    const char *list = srv->cfg.allowed_hosts;
    if (list && !strcmp(list, "*")) {
        srv->any_host = true;
        awm_log(AWM_LOG_WARN, "ALLOWED_HOSTS_ANY", "{s:s}", "message",
                "ALLOWED_HOSTS=*: every Host name is answered, so a web page elsewhere can read this server "
                "through DNS rebinding; list the names clients use instead");
        return;
    }
    if (list) {
        for (const char *p = list; *p;) {
            size_t n = strcspn(p, ",");
            const char *s = p;
            size_t len = n;
            while (len && (*s == ' ')) {
                s++;
                len--;
            }
            while (len && s[len - 1] == ' ')
                len--;
            add_host(srv, s, len);
            p += n + (p[n] == ',');
        }
        return;
    }
    static const char *const loopback[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++)
        add_host(srv, loopback[i], strlen(loopback[i]));
    const char *host = srv->cfg.host ? srv->cfg.host : "";
    if (is_wildcard(host)) {
        add_machine_names(srv);
    } else if (strchr(host, ':') && host[0] != '[') {
        char bracketed[300];
        snprintf(bracketed, sizeof bracketed, "[%s]", host);
        add_host(srv, bracketed, strlen(bracketed));
    } else {
        add_host(srv, host, strlen(host));
    }
}

void api_allowed_hosts_free(api_server *srv)
{
    for (size_t i = 0; i < srv->allowed_host_count; i++)
        free(srv->allowed_hosts[i]);
    free(srv->allowed_hosts);
    srv->allowed_hosts = NULL;
    srv->allowed_host_count = 0;
}

bool api_check_host(api_request *r)
{
    if (r->srv->any_host)
        return true;
    const char *host = api_request_value(r, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host) /* HTTP/1.0 without Host: not a browser, so not a rebinding attack */
        return true;
    /* The name without its port: "[::1]:5173" → "[::1]", "example.com:80" → "example.com". */
    size_t len = strlen(host);
    const char *colon = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
    if (host[0] == '[' && colon)
        len = (size_t)(colon - host) + 1;
    else if (host[0] != '[' && colon)
        len = (size_t)(colon - host);
    while (len && host[len - 1] == '.')
        len--;
    for (size_t i = 0; i < r->srv->allowed_host_count; i++)
        if (strlen(r->srv->allowed_hosts[i]) == len && !strncasecmp(r->srv->allowed_hosts[i], host, len))
            return true;
    api_respond_error(r, 421, NULL, "this server does not answer for Host %.100s (ALLOWED_HOSTS)", host);
    return false;
}
