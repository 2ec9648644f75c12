/* elf_fixture.c: see elf_fixture.h. */
#include "elf_fixture.h"

#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void mp_test_compressed_path(char *path, size_t len)
{
	const char *build = getenv("MEMPROF_BUILD");
	int written = snprintf(path, len, "%s/tests/data/compressed_debug", build ? build : "build");
	assert_true(written > 0 && (size_t)written < len);
}

int mp_test_open_compressed(void)
{
	char path[PATH_MAX];
	mp_test_compressed_path(path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

size_t mp_test_read_build_id(int fd, uint8_t *id, size_t max)
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	size_t len = 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL && !len;) {
		GElf_Shdr shdr;
		gelf_getshdr(scn, &shdr);
		Elf_Data *data = shdr.sh_type == SHT_NOTE ? elf_getdata(scn, NULL) : NULL;
		GElf_Nhdr note;
		size_t at = 0, name_at, desc_at;
		while (data && (at = gelf_getnote(data, at, &note, &name_at, &desc_at)) > 0) {
			if (note.n_type == NT_GNU_BUILD_ID && note.n_descsz <= max) {
				memcpy(id, (const uint8_t *)data->d_buf + desc_at, note.n_descsz);
				len = note.n_descsz;
			}
		}
	}
	elf_end(elf);
	return len;
}
