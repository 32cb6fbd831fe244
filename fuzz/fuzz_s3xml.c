/* fuzz_s3xml.c — the S3 error-response parser (s3_parse_error_xml, storage_internal.h) on
 * arbitrary bytes; the first input byte picks the output buffer sizes so short buffers
 * (truncation) are exercised too. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "storage/storage_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t code_size = 1 + (data[0] & 0x0f) * 8, message_size = 1 + (data[0] >> 4) * 32;
    /* Heap buffers of exactly that size, so ASan catches a write past them. */
    char *code = malloc(code_size), *message = malloc(message_size);
    bool found = s3_parse_error_xml((const char *)data + 1, size - 1, code, code_size, message, message_size);
    if (strnlen(code, code_size) == code_size || strnlen(message, message_size) == message_size)
        abort(); /* outputs are always NUL-terminated */
    if (found && !code[0] && code_size > 1)
        abort(); /* "a Code was found" means one was returned */
    free(code);
    free(message);
    return 0;
}
