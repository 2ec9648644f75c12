/* modules.h: the module map that lets the analyzer symbolize offline (modules.c), a
 * feature. */
#ifndef MEMPROF_PRELOAD_MODULES_H
#define MEMPROF_PRELOAD_MODULES_H

#include "writer.h"

/* The generation stacks are interned under; changes when a library is unloaded. */
uint32_t mp_modules_generation(void);
/* Writes MODULE records if the set of loaded objects changed since they were last
 * written. Called on slow paths only. */
void mp_modules_sync(struct mp_thread *thread);
/* Whether every one of the count addresses lies in an object of the map last written, in
 * the current generation: a stack of them needs no mp_modules_sync. Lock-free. */
int mp_modules_cover(void *const *ips, int count);
/* A library was unloaded: addresses may be reused, so stacks start a new generation. */
void mp_modules_unloaded(void);
/* The range of the object containing `addr` (used to find libmemprof itself). */
int mp_modules_range_of(uintptr_t addr, uintptr_t *start, uintptr_t *end);
void mp_modules_reset(void);

#endif
