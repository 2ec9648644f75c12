/* bare_shim.c: the cheapest possible malloc/free interposer, as a yardstick.
 *
 * It forwards malloc and free to glibc and does nothing else, so running a program under
 * it measures what interposition itself costs (the extra call through the PLT and a
 * function pointer) on this machine; bench/overhead.sh subtracts nothing, it shows this
 * next to memprof's sampled mode so the two can be compared. */
#include <stddef.h>

void *__libc_malloc(size_t size);
void __libc_free(void *ptr);

/* Through pointers, like any interposer that finds the next definition with dlsym. */
static void *(*volatile next_malloc)(size_t) = __libc_malloc;
static void (*volatile next_free)(void *) = __libc_free;

__attribute__((visibility("default"))) void *malloc(size_t size)
{
	return next_malloc(size);
}

__attribute__((visibility("default"))) void free(void *ptr)
{
	next_free(ptr);
}
