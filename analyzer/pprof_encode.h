/* pprof_encode.h: a built profile (pprof.h) as the bytes pprof reads: profile.proto,
 * gzipped. */
#ifndef MEMPROF_PPROF_ENCODE_H
#define MEMPROF_PPROF_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "pprof.h"

/* Encodes `profile` (protobuf-c, code generated at build time from Debian's
 * profile.proto) and gzips it. Returns 0 with *data (malloc'd, the caller frees it) and
 * *size, or -ENOMEM. */
int mp_pprof_encode(const struct mp_pprof *profile, uint8_t **data, size_t *size);

#endif
