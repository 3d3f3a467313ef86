/* Sizes as operators and annotations write them. */
#ifndef MEMHOOK_SIZE_H
#define MEMHOOK_SIZE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SIZE_UNLIMITED (-1)

/* "64m" = 64 MiB, "1g", "1.5GiB", "512MiB", "4096", "-1"/"max" = SIZE_UNLIMITED.
 * Binary units (Docker's): k/m/g/t with optional "b", "KiB"…, case-insensitive.
 * `what` names the option or annotation in the error. */
int size_parse (const char *text, const char *what, int64_t *out, mh_error_t *err);
/* "64 MiB", "1.5 GiB", "4095 bytes", "unlimited". */
const char *size_format (int64_t bytes, char *buf, size_t len);
/* Durations for backoff: "100ms", "1m", "10s", "1.5s", "2h"; plain number = ms. */
int duration_parse (const char *text, const char *what, int64_t *out_ms, mh_error_t *err);

#endif
