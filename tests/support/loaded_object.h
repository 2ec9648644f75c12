/* loaded_object.h: the address range of an object loaded in the test process, as the
 * preload records it for a MODULE record (its PT_LOAD segments, page aligned below). */
#ifndef MEMPROF_TEST_LOADED_OBJECT_H
#define MEMPROF_TEST_LOADED_OBJECT_H

#include <link.h>
#include <stdint.h>

/* [*start, *end) of the object dl_iterate_phdr describes in `info`; for an object without
 * a PT_LOAD segment *start is UINT64_MAX and *end 0. */
void mp_test_object_range(const struct dl_phdr_info *info, uint64_t *start, uint64_t *end);

#endif
