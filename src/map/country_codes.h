/* country_codes.h — internal to src/map: the assigned ISO 3166-1 alpha-2 codes. */
#ifndef AWM_MAP_COUNTRY_CODES_H
#define AWM_MAP_COUNTRY_CODES_H

#include <stdbool.h>

/* True when `code` (exactly two upper-case ASCII letters, no terminator needed) is an
 * officially assigned ISO 3166-1 alpha-2 code. User-assigned codes such as XK are not. */
bool map_country_code_assigned(const char *code);

#endif
