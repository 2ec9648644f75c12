/* reach.c: pointer patterns whose leak kinds memprof must classify as memcheck does.
 *
 * Every site allocates a size of its own (tests/integration/test_reachability.c knows
 * them), so a loss record of either tool is matched to its site by bytes / blocks.
 * Expected kinds, by memcheck's definitions:
 *   1001 overwritten      the only pointer was overwritten            definite
 *   1002 lost parent      lost, points to 1003                        definite
 *   1003 lost child       reachable only from 1002                    indirect
 *   1005 list head        lost head of a list of three 1006 nodes     definite
 *   1006 list nodes       reachable only from the lost head           indirect x3
 *   1007 cycle            three blocks in a ring, none pointed to     1 definite, 2 indirect
 *   1010/1011/1012 tree   root held by a global, 2 children, 4 leaves reachable
 *   1013 interior         only a pointer 40 bytes into it             possible
 *   1014 thread stack     only in a local of a thread blocked at exit (memcheck's verdict
 *                         is what test_reachability.c compares with)
 *   1015 holder           held by a global, holds 1016                reachable
 *   1016 held             held by the reachable 1015                  reachable
 *   1017 xor              pointer stored XOR-ed with a constant       definite
 *   1018 interior parent  only an interior pointer, points to 1019    possible
 *   1019 behind interior  start pointer from a possibly lost block    possible
 *   1020 beside large     only in memory the program mapped itself,   reachable
 *                         merged by the kernel into one mapping with
 *                         a large block's own mmap
 *   1030 before top       lost, the last block cut from glibc's top   definite
 *                         chunk, whose address (in main_arena, in
 *                         libc's data) lies 1024 bytes into it
 *   1031 stale below exit lost, its address left in dead stack from  definite
 *                         2 KiB below main's frame, where an exit
 *                         handler's frames then go
 *   1032 vector register  only in %xmm7 of a thread blocked at exit   definite
 *                         (memcheck reads general registers only)
 *   1033 general register only in %r12 of a thread blocked at exit    reachable
 *   1034 sparse mapping   only in the one touched page of a 64 MiB    reachable
 *                         private anonymous mapping (the scan reads
 *                         that page, not the 64 MiB)
 *   1035 arena's shape    only in a 64 MiB mapping on a 64 MiB        reachable
 *                         boundary, as glibc's arena heaps are (but
 *                         without their heap_info)
 *   1036 stack's shape    only in a mapping right above a PROT_NONE   reachable
 *                         one, as a thread's stack is above its guard
 *                         (but without glibc's thread descriptor)
 *   1037 emptied arena    lost, its address left in a freed block of a definite
 *                         joined thread's arena, which no live block
 *                         is in (memcheck, whose allocator is its own,
 *                         has no such memory)
 *   1040 new[] cookie     only a pointer 8 bytes in, after a count    reachable (memcheck's
 *                         (129) that divides the rest of the block    newarray heuristic)
 *   1041 length prefix    only a pointer 8 bytes in, after the length reachable (length64)
 *                         of the rest (1033), as sqlite keeps it
 *   1042 COW string       only a pointer 24 bytes in, after length 5, reachable (stdstring)
 *                         capacity 1017 and a count: 24 + 1017 + 1
 *   1043 zero count       only a pointer 8 bytes in, after a 0        possible
 *   1044 odd count        only a pointer 8 bytes in, after a count    possible
 *                         (5) that does not divide the rest
 *   1045 string misfit    only a pointer 24 bytes in, a capacity      possible
 *                         that does not make up the block
 *   1046 shared mapping   only in the one touched page of a 64 MiB    reachable
 *                         shared anonymous mapping
 * The sites run in a function of their own and the stack below it is then wiped, so no
 * stale copy of a pointer survives in a dead frame (memcheck's own leak tests do the
 * same). No stdio: its buffer would be a block of libc's.
 */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "holder_thread.h"

struct node {
	struct node *next;
	char payload[];
};

static void *g_tree;
static char *g_interior;
static struct node *g_holder;
static uintptr_t g_xor;
static char *g_interior_parent;
static char *g_shaped[6]; /* 1040 to 1045: interior pointers with memcheck's heuristics' shapes */
static void **g_region;
static void *g_large[20]; /* the large blocks of keep_beside_large_block's tries */
static void **g_sparse;
static void **g_shared;
static void **g_arena_shape;
static void **g_stack_shape;

static __attribute__((noinline)) struct node *new_node(size_t size, struct node *next)
{
	struct node *node = calloc(1, size);
	node->next = next;
	return node;
}

static __attribute__((noinline)) void lose_simple(void)
{
	void *overwritten = malloc(1001);
	memset(overwritten, 0, 1001);
	overwritten = NULL;
	struct node *parent = new_node(1002, new_node(1003, NULL));
	parent = NULL;
	(void)overwritten;
	(void)parent;
}

static __attribute__((noinline)) void lose_list_and_cycle(void)
{
	struct node *head = new_node(1005, new_node(1006, new_node(1006, new_node(1006, NULL))));
	head = NULL;
	struct node *first = new_node(1007, NULL);
	struct node *second = new_node(1007, first);
	struct node *third = new_node(1007, second);
	first->next = third;
	first = second = third = NULL;
	(void)head;
}

static __attribute__((noinline)) void keep_tree(void)
{
	struct node *leaves[4];
	for (int i = 0; i < 4; i++)
		leaves[i] = new_node(1012, NULL);
	struct node *left = new_node(1011, leaves[0]), *right = new_node(1011, leaves[2]);
	leaves[0]->next = leaves[1];
	leaves[2]->next = leaves[3];
	left->next = leaves[0];
	struct node *root = calloc(1, 1010);
	((struct node **)root)[0] = left;
	((struct node **)root)[1] = right;
	g_tree = root;
	memset(leaves, 0, sizeof(leaves));
}

static __attribute__((noinline)) void hide_and_hold(void)
{
	g_interior = (char *)calloc(1, 1013) + 40;
	g_holder = new_node(1015, new_node(1016, NULL));
	g_xor = (uintptr_t)calloc(1, 1017) ^ (uintptr_t)0x5a5a5a5a5a5a5a5aull;
	struct node *behind = new_node(1019, NULL);
	g_interior_parent = (char *)new_node(1018, behind) + 40;
}

/* A block of `size` whose first words are given, held only by a pointer `offset` in. */
static char *shaped(size_t size, uint64_t first, uint64_t second, size_t offset)
{
	uint64_t *block = calloc(1, size);
	block[0] = first;
	block[1] = second;
	return (char *)block + offset;
}

static __attribute__((noinline)) void keep_by_heuristics(void)
{
	g_shaped[0] = shaped(1040, 129, 0, 8);
	g_shaped[1] = shaped(1041, 1041 - 8, 0, 8);
	g_shaped[2] = shaped(1042, 5, 1042 - 25, 24);
	g_shaped[3] = shaped(1043, 0, 0, 8);
	g_shaped[4] = shaped(1044, 5, 0, 8);
	g_shaped[5] = shaped(1045, 5, 999, 24);
}

/* The line of /proc/self/maps holding addr (read without stdio): 1 with its bounds. */
static int mapping_of(uintptr_t addr, uintptr_t *low, uintptr_t *high)
{
	static char maps[1 << 18];
	size_t len = 0;
	ssize_t got;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && len < sizeof(maps) - 1 &&
	       (got = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)got;
	if (fd >= 0)
		close(fd);
	maps[len] = '\0';
	for (char *line = maps; *line;) {
		char *end;
		*low = strtoull(line, &end, 16);
		*high = strtoull(end + 1, &end, 16);
		if (*low <= addr && addr < *high)
			return 1;
		line = strchr(line, '\n');
		if (!line)
			break;
		line++;
	}
	return 0;
}

/* 1020: a megabyte mapped at the top of a fresh gap, then a large malloc, which glibc
 * mmaps and the kernel most often places right below it, merging the two: one mapping
 * then holds a block's start and the program's own memory. Tried again until
 * /proc/self/maps shows them merged; returns whether they did (under valgrind the
 * client's mappings are placed otherwise: the block is held the same way all the same).
 * The threshold is fixed, and a try's block kept, because a free of an mmapped block
 * raises glibc's threshold past its size: the next ones would come from the heap. */
static __attribute__((noinline)) int keep_beside_large_block(void)
{
	const size_t large = (1u << 20) - 4096, region_bytes = 1u << 20;
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	for (int attempt = 0; attempt < 20; attempt++) {
		char *space = mmap(NULL, 3 * region_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);
		if (space == MAP_FAILED)
			break;
		munmap(space, 3 * region_bytes);
		void **region = mmap(space + 2 * region_bytes, region_bytes, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (region == MAP_FAILED)
			continue;
		g_large[attempt] = malloc(large);
		memset(g_large[attempt], 0, large);
		uintptr_t low, high;
		if (mapping_of((uintptr_t)region, &low, &high) &&
		    low <= (uintptr_t)g_large[attempt] && (uintptr_t)g_large[attempt] < high) {
			region[100] = calloc(1, 1020);
			g_region = region;
			return 1;
		}
		munmap(region, region_bytes);
	}
	g_region = mmap(NULL, region_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (g_region != MAP_FAILED)
		g_region[100] = calloc(1, 1020);
	return 0;
}

/* 1034: a 64 MiB mapping of which one page is ever written, with the block's address. */
static __attribute__((noinline)) void keep_in_sparse_mapping(void)
{
	const size_t bytes = 64u << 20;
	void **sparse = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (sparse == MAP_FAILED)
		abort();
	sparse[(40u << 20) / sizeof(void *)] = calloc(1, 1034);
	g_sparse = sparse;
}

/* 1046: only in the one touched page of a 64 MiB shared anonymous mapping (memory a
 * prefork server shares with its workers): a root, read where touched only (reading the
 * rest would give the segment pages). */
static __attribute__((noinline)) void keep_in_shared_mapping(void)
{
	const size_t bytes = 64u << 20;
	void **shared = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
	if (shared == MAP_FAILED)
		abort();
	shared[(24u << 20) / sizeof(void *)] = calloc(1, 1046);
	g_shared = shared;
}

/* 1035: a mapping shaped as an arena heap of glibc's: 64 MiB, on a 64 MiB boundary (cut
 * from one of twice the size, as glibc makes them). */
static __attribute__((noinline)) void keep_in_arena_shape(void)
{
	const size_t bytes = 64u << 20;
	uint8_t *wide = mmap(NULL, 2 * bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (wide == MAP_FAILED)
		abort();
	uint8_t *aligned = (uint8_t *)(((uintptr_t)wide + bytes - 1) & ~(uintptr_t)(bytes - 1));
	if (aligned > wide)
		munmap(wide, (size_t)(aligned - wide));
	munmap(aligned + bytes, (size_t)(wide + 2 * bytes - (aligned + bytes)));
	void **words = (void **)(void *)aligned;
	words[4096 / sizeof(void *)] = calloc(1, 1035);
	g_arena_shape = words;
}

/* 1036: a mapping shaped as a thread's stack: its lowest page made PROT_NONE, a guard. */
static __attribute__((noinline)) void keep_in_stack_shape(void)
{
	const size_t bytes = 16 * 4096;
	uint8_t *guarded = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guarded == MAP_FAILED || mprotect(guarded, 4096, PROT_NONE) != 0)
		abort();
	void **words = (void **)(void *)(guarded + bytes - 4096);
	words[8] = calloc(1, 1036);
	g_stack_shape = words;
}

/* Copies `lost` all over a block of this thread's arena, then frees it. */
static void *leave_in_freed_block(void *lost)
{
	void **scratch = malloc(4000);
	if (!scratch)
		abort();
	for (size_t i = 0; i < 4000 / sizeof(void *); i++)
		scratch[i] = lost;
	free(scratch);
	return NULL;
}

/* 1037: lost; its address stays only in freed memory of an arena of glibc's that has no
 * live block (the joined thread's, the other threads still holding theirs). */
static __attribute__((noinline)) void lose_in_emptied_arena(void)
{
	pthread_t thread;
	void *lost = calloc(1, 1037);
	if (pthread_create(&thread, NULL, leave_in_freed_block, lost) != 0 ||
	    pthread_join(thread, NULL) != 0)
		abort();
}

/* 1030: lost, and the last block cut from the main arena's top chunk: its 1030 bytes in a
 * 1040-byte chunk reach into the top chunk's first word, so main_arena.top points 1024
 * bytes into it. memcheck, whose allocator is its own, has no such pointer. With `check`
 * (not under valgrind, whose blocks have no glibc header), returns whether the top chunk
 * does follow it: its end is the program break. */
static __attribute__((noinline)) int lose_before_top(int check)
{
	unsigned char *last = malloc(1030);
	last[0] = 1;
	if (!check)
		return 1;
	size_t chunk = ((size_t *)last)[-1] & ~(size_t)7;
	unsigned char *next = last - 16 + chunk;
	size_t next_size = ((size_t *)next)[1] & ~(size_t)7;
	return next + next_size == (unsigned char *)sbrk(0);
}

/* Fills 14 KiB of this frame with `block` (dead stack once it returns), all but the 2 KiB
 * nearest the caller's frame, where exit()'s own frames go. */
static __attribute__((noinline)) void plant_copies(uintptr_t block)
{
	uintptr_t area[2048];
	for (size_t i = 0; i < 2048 - 256; i++)
		area[i] = block;
	__asm__ volatile("" : : "r"(area) : "memory");
}

/* 1031: lost, but copies of its address are left in the dead stack from 2 KiB below
 * main's frame on: deeper than exit() and its handlers' loop, where only what runs inside
 * an exit handler (memprof's exit snapshot and leak check) builds frames, over whatever
 * an earlier deep call (malloc's recording, here the planting) left there. memcheck scans
 * the stack from its pointer at exit: definite. */
static __attribute__((noinline)) void lose_with_stale_copies(void)
{
	char *block = malloc(1031);
	block[0] = 1;
	plant_copies((uintptr_t)block);
}

/* 1032 and 1033: a thread whose only copy of its block's address is in one register,
 * blocked in read() on a pipe nobody writes, with nothing else of it anywhere: the address
 * is kept XOR-ed until the last instructions, which put it in the register and block. */
#define REGISTER_KEY 0x5a5a5a5a5a5a5a5aull
static int register_ready[2], register_block[2];

static void *register_holder(void *in_vector)
{
	uintptr_t hidden = (uintptr_t)malloc(in_vector ? 1032 : 1033) ^ REGISTER_KEY;
	*(char *)(hidden ^ REGISTER_KEY) = 1;
	free(malloc(8)); /* the thread's last recorded event is not that block */
	wipe_stack();
	char byte = 1;
	if (write(register_ready[1], &byte, 1) != 1)
		abort();
	/* The address into %xmm7 or %r12, then read(fd, below the stack pointer, 1) forever. */
	__asm__ volatile("mov %[hidden], %%rax\n\t"
			 "xor %[key], %%rax\n\t"
			 "test %[in_vector], %[in_vector]\n\t"
			 "jz 2f\n\t"
			 "movq %%rax, %%xmm7\n\t"
			 "jmp 1f\n"
			 "2: mov %%rax, %%r12\n"
			 "1: xor %%eax, %%eax\n\t"
			 "mov %[fd], %%edi\n\t"
			 "lea -64(%%rsp), %%rsi\n\t"
			 "mov $1, %%edx\n\t"
			 "syscall\n\t"
			 "jmp 1b"
			 : : [hidden] "r"(hidden), [key] "r"(REGISTER_KEY),
			   [fd] "r"(register_block[0]), [in_vector] "r"(in_vector)
			 : "rax", "rdi", "rsi", "rdx", "rcx", "r11", "r12", "xmm7", "memory");
	return NULL;
}

static __attribute__((noinline)) void start_register_holders(void)
{
	pthread_t thread;
	char byte;
	if (pipe(register_ready) || pipe(register_block))
		abort();
	for (int in_vector = 0; in_vector < 2; in_vector++) {
		if (pthread_create(&thread, NULL, register_holder, (void *)(uintptr_t)in_vector) ||
		    read(register_ready[0], &byte, 1) != 1)
			abort();
	}
}

int main(int argc, char **argv)
{
	(void)argv;
	if (!keep_beside_large_block() && getenv("REACH_REQUIRE_MERGED"))
		exit(3); /* the pattern of 1020 could not be built */
	lose_simple();
	lose_list_and_cycle();
	keep_tree();
	hide_and_hold();
	keep_by_heuristics();
	keep_in_sparse_mapping();
	keep_in_shared_mapping();
	keep_in_arena_shape();
	keep_in_stack_shape();
	if (argc < 2) { /* "nothread": the thread cases are left out */
		start_holder(1014);
		start_register_holders();
		lose_in_emptied_arena();
	}
	if (!lose_before_top(getenv("REACH_REQUIRE_TOP") != NULL) && getenv("REACH_REQUIRE_TOP"))
		exit(4); /* the pattern of 1030 could not be built */
	wipe_stack();
	lose_with_stale_copies();
	exit(0);
}
