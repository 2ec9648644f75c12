/* test_debug_inflate.c: the inflated image of an ELF file against what libelf makes of
 * the original, and the files it must refuse.
 *
 * The fixture (elf_fixture.h) is a test program built with -gz=zlib, so its DWARF sections are zlib-compressed as in Debian's
 * debug packages. libelf's own elf_compress(scn, 0, 0) is the reference for every
 * inflated byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "debug_inflate.h"
#include "elf_fixture.h"

static int count_open_fds(void)
{
	int count = 0;
	for (int fd = 0; fd < 1024; fd++)
		count += fcntl(fd, F_GETFD) >= 0;
	return count;
}

static int is_location_list(const char *name)
{
	return strcmp(name, ".debug_loc") == 0 || strcmp(name, ".debug_loclists") == 0;
}

static int setup(void **state)
{
	(void)state;
	elf_version(EV_CURRENT);
	return 0;
}

static void test_sections_inflate_to_what_libelf_makes_of_them(void **state)
{
	(void)state;
	uint8_t id[64];
	int fd = mp_test_open_compressed();
	size_t id_len = mp_test_read_build_id(fd, id, sizeof(id));
	assert_true(id_len > 0);
	int image_fd = mp_debug_inflate(fd, id, id_len);
	assert_true(image_fd >= 0);
	assert_true(fcntl(image_fd, F_GETFD) & FD_CLOEXEC);

	Elf *original = elf_begin(fd, ELF_C_READ, NULL), *image = elf_begin(image_fd, ELF_C_READ, NULL);
	assert_non_null(original);
	assert_non_null(image);
	size_t count, image_count, names;
	assert_int_equal(elf_getshdrnum(original, &count), 0);
	assert_int_equal(elf_getshdrnum(image, &image_count), 0);
	assert_int_equal(count, image_count);
	assert_int_equal(elf_getshdrstrndx(original, &names), 0);
	unsigned inflated = 0, dropped = 0;
	for (size_t i = 1; i < count; i++) {
		Elf_Scn *from = elf_getscn(original, i), *to = elf_getscn(image, i);
		GElf_Shdr before, after;
		gelf_getshdr(from, &before);
		gelf_getshdr(to, &after);
		const char *name = elf_strptr(original, names, before.sh_name);
		assert_non_null(name);
		assert_int_equal(after.sh_flags & SHF_COMPRESSED, 0);
		assert_int_equal(after.sh_name, before.sh_name);
		if ((before.sh_flags & SHF_COMPRESSED) && is_location_list(name)) {
			assert_int_equal(after.sh_type, SHT_NOBITS);
			dropped++;
			continue;
		}
		if (before.sh_flags & SHF_COMPRESSED) {
			assert_int_equal(elf_compress(from, 0, 0), 1);
			gelf_getshdr(from, &before);
			inflated++;
		}
		assert_int_equal(after.sh_type, before.sh_type);
		assert_int_equal(after.sh_size, before.sh_size);
		if (before.sh_type == SHT_NOBITS)
			continue;
		Elf_Data *want = elf_rawdata(from, NULL), *got = elf_rawdata(to, NULL);
		assert_non_null(want);
		assert_non_null(got);
		assert_int_equal(got->d_size, want->d_size);
		assert_memory_equal(got->d_buf, want->d_buf, want->d_size);
	}
	/* The fixture really is compressed: .debug_info, .debug_line and more. */
	assert_true(inflated >= 4);
	assert_int_equal(dropped, 1); /* gcc 12 writes DWARF 5: .debug_loclists */
	elf_end(original);
	elf_end(image);
	close(image_fd);
	close(fd);
}

static void test_another_build_is_refused(void **state)
{
	(void)state;
	uint8_t id[64];
	int fd = mp_test_open_compressed();
	size_t id_len = mp_test_read_build_id(fd, id, sizeof(id));
	int before = count_open_fds();
	id[0] ^= 1;
	assert_int_equal(mp_debug_inflate(fd, id, id_len), -1);
	id[0] ^= 1;
	assert_int_equal(mp_debug_inflate(fd, id, id_len - 1), -1);
	assert_int_equal(count_open_fds(), before);
	close(fd);
}

/* A copy of the fixture in a scratch file, changed by `damage`; its descriptor. */
static int damaged_copy(void (*damage)(uint8_t *bytes, size_t *size))
{
	int fd = mp_test_open_compressed();
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	size_t size = (size_t)st.st_size;
	uint8_t *bytes = malloc(size);
	assert_non_null(bytes);
	assert_int_equal(pread(fd, bytes, size, 0), (ssize_t)size);
	close(fd);
	damage(bytes, &size);
	char path[] = "damaged-XXXXXX";
	int copy = mkstemp(path);
	assert_true(copy >= 0);
	unlink(path);
	assert_int_equal(write(copy, bytes, size), (ssize_t)size);
	free(bytes);
	return copy;
}

/* The header of the compressed section `nth` (0: the first) in an image in memory. */
static Elf64_Shdr *compressed_section(uint8_t *bytes, unsigned nth)
{
	Elf64_Ehdr *ehdr = (Elf64_Ehdr *)bytes;
	Elf64_Shdr *shdrs = (Elf64_Shdr *)(bytes + ehdr->e_shoff);
	for (unsigned i = 0; i < ehdr->e_shnum; i++)
		if ((shdrs[i].sh_flags & SHF_COMPRESSED) && nth-- == 0)
			return &shdrs[i];
	fail_msg("the fixture has too few compressed sections");
	return NULL;
}

static void flip_stream_bytes(uint8_t *bytes, size_t *size)
{
	(void)size;
	Elf64_Shdr *shdr = compressed_section(bytes, 1);
	for (uint64_t i = sizeof(Elf64_Chdr) + 8; i < shdr->sh_size; i += 7)
		bytes[shdr->sh_offset + i] ^= 0x5a;
}

static void overstate_size(uint8_t *bytes, size_t *size)
{
	(void)size;
	Elf64_Shdr *shdr = compressed_section(bytes, 1);
	Elf64_Chdr *chdr = (Elf64_Chdr *)(bytes + shdr->sh_offset);
	chdr->ch_size += 16;
}

static void cut_in_half(uint8_t *bytes, size_t *size)
{
	(void)bytes;
	*size /= 2;
}

static void section_past_the_end(uint8_t *bytes, size_t *size)
{
	compressed_section(bytes, 0)->sh_offset = *size - 4;
}

/* The image gets a header of its own, so a section over the file's header is refused
 * (found by fuzz_debug_inflate: the copied section overwrote the new header). */
static void section_over_the_header(uint8_t *bytes, size_t *size)
{
	(void)size;
	Elf64_Ehdr *ehdr = (Elf64_Ehdr *)bytes;
	Elf64_Shdr *shdrs = (Elf64_Shdr *)(bytes + ehdr->e_shoff);
	shdrs[ehdr->e_shstrndx].sh_offset = 16;
}

/* More than DEFLATE can expand to: refused before an image that large is made (found by
 * fuzz_debug_inflate: a 4 GiB claim filled memory). */
static void claim_too_much(uint8_t *bytes, size_t *size)
{
	(void)size;
	Elf64_Shdr *shdr = compressed_section(bytes, 1);
	Elf64_Chdr *chdr = (Elf64_Chdr *)(bytes + shdr->sh_offset);
	chdr->ch_size = 512ull << 20;
}

static long max_rss_kib(void)
{
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	return usage.ru_maxrss;
}

static void not_elf(uint8_t *bytes, size_t *size)
{
	(void)size;
	memcpy(bytes, "#!/bin/sh\n", 10);
}

static void empty(uint8_t *bytes, size_t *size)
{
	(void)bytes;
	*size = 0;
}

static void test_damaged_files_are_left_to_libdw(void **state)
{
	(void)state;
	uint8_t id[64];
	int fd = mp_test_open_compressed();
	size_t id_len = mp_test_read_build_id(fd, id, sizeof(id));
	close(fd);
	void (*const damages[])(uint8_t *, size_t *) = {
		flip_stream_bytes, overstate_size, cut_in_half, section_past_the_end,
		section_over_the_header, claim_too_much, not_elf, empty,
	};
	int before = count_open_fds();
	long rss_before = max_rss_kib();
	for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		int copy = damaged_copy(damages[i]);
		if (mp_debug_inflate(copy, id, id_len) != -1)
			fail_msg("damage %zu was not refused", i);
		close(copy);
	}
	assert_int_equal(count_open_fds(), before);
	/* The 512 MiB claim was never backed by memory. */
	assert_true(max_rss_kib() - rss_before < 64 * 1024);
}

/* An empty section may say anything about its offset: the image is made, and checks out
 * (found by fuzz_debug_inflate: the check wanted the offset within the file). */
static void empty_section_far_away(uint8_t *bytes, size_t *size)
{
	Elf64_Ehdr *ehdr = (Elf64_Ehdr *)bytes;
	Elf64_Shdr *shdrs = (Elf64_Shdr *)(bytes + ehdr->e_shoff);
	for (unsigned i = 1; i < ehdr->e_shnum; i++)
		if (!(shdrs[i].sh_flags & SHF_COMPRESSED) && shdrs[i].sh_type == SHT_PROGBITS &&
		    i != ehdr->e_shstrndx) {
			shdrs[i].sh_size = 0;
			shdrs[i].sh_offset = *size * 4;
			return;
		}
}

static void test_made_images_check_out(void **state)
{
	(void)state;
	uint8_t id[64];
	int fd = mp_test_open_compressed();
	size_t id_len = mp_test_read_build_id(fd, id, sizeof(id));
	close(fd);
	int copy = damaged_copy(empty_section_far_away);
	int image = mp_debug_inflate(copy, id, id_len);
	assert_true(image >= 0);
	assert_int_equal(mp_debug_image_check(image, id, id_len), 0);
	assert_int_equal(mp_debug_image_check(copy, id, id_len), -1); /* still compressed */
	close(image);
	close(copy);
}

static void test_nothing_compressed_is_left_alone(void **state)
{
	(void)state;
	/* This test program is built with plain -g. */
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	uint8_t id[64];
	size_t id_len = mp_test_read_build_id(fd, id, sizeof(id));
	assert_true(id_len > 0);
	assert_int_equal(mp_debug_inflate(fd, id, id_len), -1);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_inflate_to_what_libelf_makes_of_them),
		cmocka_unit_test(test_another_build_is_refused),
		cmocka_unit_test(test_damaged_files_are_left_to_libdw),
		cmocka_unit_test(test_made_images_check_out),
		cmocka_unit_test(test_nothing_compressed_is_left_alone),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
