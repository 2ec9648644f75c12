/* elf_fixture.h: the test program with zlib-compressed DWARF (tests/tests.mk,
 * $(BUILD)/tests/data/compressed_debug) and reading an ELF file's build-id, for the tests
 * of the debug-file inflater and its cache. Failures abort through cmocka: test code only.
 */
#ifndef MEMPROF_ELF_FIXTURE_H
#define MEMPROF_ELF_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* The fixture's path, under $MEMPROF_BUILD (set by tests/run_all.sh), else build/. */
void mp_test_compressed_path(char *path, size_t len);

/* A read-only, close-on-exec descriptor of the fixture. */
int mp_test_open_compressed(void);

/* The descriptor of `fd`'s GNU build-id note, copied into id[] (at most max bytes); its
 * length, 0 if the file has none. */
size_t mp_test_read_build_id(int fd, uint8_t *id, size_t max);

#endif
