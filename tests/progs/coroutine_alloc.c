/* coroutine_alloc.c: a coroutine on a small stack of its own (makecontext) that allocates
 * deep in it (tests/integration/small_stacks.sh). The stack is mapped with a guard page
 * below it, as coroutine libraries do, so that running out of it faults at once.
 *
 * The coroutine recurses LEVELS levels of 256 bytes each, then allocates and frees 100
 * blocks and returns to main, which prints "done 100". memprof walks a stack it does not
 * know (not the thread's own) with libunwind, on a stack of its own: the coroutine's must
 * hold only what the program itself needs, plus the recorder's few frames.
 *
 * With `near`, the stack is mapped 256 MiB below the main thread's (the main thread's
 * stack top less that): where ASLR puts the mmap area within 4 GiB of the main stack, a
 * coroutine's stack lies there, in one run in a few hundred. With `thread`, a new thread
 * runs the coroutine (on a stack main mapped), and its first event is the coroutine's.
 * With `onstack`, the coroutine's stack is the bottom of a 64 KiB array in main's own
 * frame (STACK_BYTES at most that): main's callees' frames lie just below it.
 *
 *   coroutine_alloc STACK_BYTES LEVELS [near | thread | onstack]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static ucontext_t main_context, coroutine_context;
static int levels, allocated;

__attribute__((noinline)) static void allocate(void)
{
	for (int i = 0; i < 100; i++) {
		char *block = malloc(32 + (size_t)i);
		if (!block)
			abort();
		block[0] = (char)i;
		__asm__ volatile("" : : "r"(block) : "memory");
		free(block);
		allocated++;
	}
}

__attribute__((noinline)) static void descend(int level)
{
	volatile char frame[224];
	memset((char *)frame, level, sizeof(frame));
	if (level < levels)
		descend(level + 1);
	else
		allocate();
	__asm__ volatile("" : : "r"(frame) : "memory"); /* not a tail call: keep the frame */
}

static void coroutine(void)
{
	descend(1);
}

/* The coroutine's stack: near the main thread's stack if asked, a guard page below it. */
static char *map_stack(size_t bytes, int near)
{
	char *want = NULL;
	if (near) {
		uintptr_t here = (uintptr_t)&bytes;
		want = (char *)((here - (256ul << 20)) & ~(uintptr_t)0xfffff);
	}
	char *region = mmap(want, bytes + 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | (want ? MAP_FIXED_NOREPLACE : 0), -1, 0);
	if (region == MAP_FAILED || mprotect(region, 4096, PROT_NONE) != 0)
		return NULL;
	return region + 4096;
}

/* Runs the coroutine on `stack` until it returns. */
static int run(char *stack, size_t bytes)
{
	if (!stack || getcontext(&coroutine_context) != 0)
		return 2;
	coroutine_context.uc_stack.ss_sp = stack;
	coroutine_context.uc_stack.ss_size = bytes;
	coroutine_context.uc_link = &main_context;
	makecontext(&coroutine_context, coroutine, 0);
	if (swapcontext(&main_context, &coroutine_context) != 0)
		return 2;
	return 0;
}

static char *thread_stack;
static size_t stack_bytes;

/* Records nothing before the coroutine: its stack was mapped by main. */
static void *thread_main(void *unused)
{
	(void)unused;
	return (void *)(intptr_t)run(thread_stack, stack_bytes);
}

int main(int argc, char **argv)
{
	const char *mode = argc == 4 ? argv[3] : "";
	if ((argc != 3 && argc != 4) ||
	    (argc == 4 && strcmp(mode, "near") != 0 && strcmp(mode, "thread") != 0 &&
	     strcmp(mode, "onstack") != 0))
		return 2;
	stack_bytes = (size_t)atol(argv[1]);
	levels = atoi(argv[2]);
	int status;
	char in_frame[65536];
	if (strcmp(mode, "onstack") == 0) {
		if (stack_bytes > sizeof(in_frame))
			return 2;
		status = run(in_frame, stack_bytes);
		__asm__ volatile("" : : "r"(in_frame) : "memory");
	} else if (strcmp(mode, "thread") == 0) {
		pthread_t thread;
		void *result;
		thread_stack = map_stack(stack_bytes, 0);
		if (pthread_create(&thread, NULL, thread_main, NULL) != 0 ||
		    pthread_join(thread, &result) != 0)
			return 2;
		status = (int)(intptr_t)result;
	} else {
		status = run(map_stack(stack_bytes, strcmp(mode, "near") == 0), stack_bytes);
	}
	if (status)
		return status;
	printf("done %d\n", allocated);
	return 0;
}
