/* holder_thread.h: for the leak-check test programs (reach.c, leak_death.c): a thread
 * that holds a block in a local variable only, which a leak check must find through that
 * thread's stack or registers, and a wipe of the caller's old frames, so that a block
 * found reachable is found through its real roots and not through stale stack words.
 * Included by one program each; everything is static. */
#ifndef MEMPROF_TEST_HOLDER_THREAD_H
#define MEMPROF_TEST_HOLDER_THREAD_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int holder_ready[2], holder_block[2];

/* Keeps a calloc'd block of `size` bytes in a local only, says it is ready, then blocks
 * in read() until the process ends. */
static void *holder_thread(void *size)
{
	void *volatile local = calloc(1, (size_t)(uintptr_t)size);
	/* The thread's last recorded event must not be that block (the recorder keeps the
	 * last address in its TLS, which is not scanned, but be sure). */
	free(malloc(8));
	char byte = 1;
	if (write(holder_ready[1], &byte, 1) != 1)
		abort();
	while (read(holder_block[0], &byte, 1) != 0)
		;
	return local;
}

/* Starts the holder with a block of `size` bytes and waits until it holds it. */
static __attribute__((noinline)) void start_holder(size_t size)
{
	pthread_t thread;
	char byte;
	if (pipe(holder_ready) || pipe(holder_block) ||
	    pthread_create(&thread, NULL, holder_thread, (void *)(uintptr_t)size))
		abort();
	if (read(holder_ready[0], &byte, 1) != 1)
		abort();
}

/* Overwrites the stack below the caller, where the callees' frames were. */
static __attribute__((noinline)) void wipe_stack(void)
{
	volatile char area[64 * 1024];
	memset((char *)area, 0, sizeof(area));
}

#endif
