/* test_pagemap.c: the state a pagemap entry becomes in a RESIDENCY run (preload/pagemap.c),
 * the kernel's zero page above all: present for pagemap, in nobody's RSS. Real entries
 * are checked too: this process's own pages, read and written, under each way of reading. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "pagemap.h"

#define PRESENT (1ull << 63)
#define SWAPPED (1ull << 62)
#define FILE_PAGE (1ull << 61)
#define EXCLUSIVE (1ull << 56)

static void test_states_of_entries(void **state)
{
	(void)state;
	/* A page the process alone maps, written: present either way. */
	assert_int_equal(mp_pagemap_state(PRESENT | EXCLUSIVE, MP_PAGEMAP_READ), MP_PAGE_PRESENT);
	assert_int_equal(mp_pagemap_state(PRESENT | EXCLUSIVE, MP_PAGEMAP_READ_ZERO_ABSENT),
			 MP_PAGE_PRESENT);
	/* The zero page (no mapcount, so never exclusive), and the huge zero page (a file
	 * page for pagemap): absent only where the zero page is told apart. */
	assert_int_equal(mp_pagemap_state(PRESENT, MP_PAGEMAP_READ), MP_PAGE_PRESENT);
	assert_int_equal(mp_pagemap_state(PRESENT, MP_PAGEMAP_READ_ZERO_ABSENT), MP_PAGE_ABSENT);
	assert_int_equal(mp_pagemap_state(PRESENT | FILE_PAGE | EXCLUSIVE,
					  MP_PAGEMAP_READ_ZERO_ABSENT),
			 MP_PAGE_ABSENT);
	assert_int_equal(mp_pagemap_state(PRESENT | FILE_PAGE, MP_PAGEMAP_READ), MP_PAGE_PRESENT);
	/* Swapped and absent pages are what they are. */
	assert_int_equal(mp_pagemap_state(SWAPPED, MP_PAGEMAP_READ_ZERO_ABSENT), MP_PAGE_SWAPPED);
	assert_int_equal(mp_pagemap_state(SWAPPED, MP_PAGEMAP_READ), MP_PAGE_SWAPPED);
	assert_int_equal(mp_pagemap_state(0, MP_PAGEMAP_READ_ZERO_ABSENT), MP_PAGE_ABSENT);
}

static uint64_t entry_of(int fd, const void *addr, long page)
{
	uint64_t entry = 0;
	off_t at = (off_t)((uintptr_t)addr / (uintptr_t)page * sizeof(entry));
	assert_int_equal(pread(fd, &entry, sizeof(entry), at), (ssize_t)sizeof(entry));
	return entry;
}

/* This kernel's entries: a page only read is present but not resident, a written one
 * resident, one never touched absent. */
static void test_states_of_own_pages(void **state)
{
	(void)state;
	long page = sysconf(_SC_PAGESIZE);
	volatile char *region = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(region != MAP_FAILED);
	madvise((void *)region, 3 * (size_t)page, MADV_NOHUGEPAGE);
	region[0] = 1;
	char read = region[page];
	assert_int_equal(read, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	uint64_t written = entry_of(fd, (const void *)region, page);
	uint64_t only_read = entry_of(fd, (const void *)(region + page), page);
	uint64_t untouched = entry_of(fd, (const void *)(region + 2 * page), page);
	close(fd);
	assert_int_equal(mp_pagemap_state(written, MP_PAGEMAP_READ_ZERO_ABSENT), MP_PAGE_PRESENT);
	assert_int_equal(mp_pagemap_state(only_read, MP_PAGEMAP_READ), MP_PAGE_PRESENT);
	assert_int_equal(mp_pagemap_state(only_read, MP_PAGEMAP_READ_ZERO_ABSENT), MP_PAGE_ABSENT);
	assert_int_equal(mp_pagemap_state(untouched, MP_PAGEMAP_READ_ZERO_ABSENT), MP_PAGE_ABSENT);
	munmap((void *)region, 3 * (size_t)page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states_of_entries),
		cmocka_unit_test(test_states_of_own_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
