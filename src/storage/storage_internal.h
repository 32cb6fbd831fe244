/* storage_internal.h — shared between storage.c (config, local directory) and s3.c (S3).
 * Not part of the interface; s3_parse_error_xml is declared here so a fuzzer can reach it. */
#ifndef AWM_STORAGE_INTERNAL_H
#define AWM_STORAGE_INTERNAL_H

#include "storage/storage.h"

struct storage {
    storage_config cfg;
    /* s3: where requests go, derived once from the config (see storage.h "S3 addressing") */
    char origin[600];       /* scheme://host[:port] */
    char host[600];         /* host[:port], the Host header that is signed */
    char bucket_path[80];   /* "/<bucket>" for path-style, "" for virtual-hosted */
    bool path_style;
};

/* Fill origin/host/bucket_path from cfg (s3 only). */
bool s3_init_addressing(storage *st, awm_error *err);
bool s3_check(storage *st, awm_error *err);
bool s3_delete(storage *st, const char *name, awm_error *err);
char *s3_put_file(storage *st, const char *local_path, const char *name, const char *content_type,
                  awm_error *err);
char *s3_presign_get_at(const storage *st, const char *name, long expires_s, time_t now,
                        awm_error *err);

/* "<prefix>/<name>" or "<name>"; false when it does not fit. */
bool storage_object_key(const storage *st, const char *name, char *key, size_t size);

/* Pull <Code> and <Message> out of an S3 XML error body (any length, not NUL-terminated,
 * possibly truncated or not XML at all). Entities &lt; &gt; &amp; &quot; &apos; and numeric
 * character references below 128 are decoded; control characters become spaces. Outputs are
 * always NUL-terminated (empty when absent); returns true when a Code was found. */
bool s3_parse_error_xml(const char *body, size_t len, char *code, size_t code_size, char *message,
                        size_t message_size);

#endif
