/* debug_inflate.c: an ELF image with its compressed sections inflated, in a memory file.
 *
 * The image keeps every byte the source file has outside its compressed sections at the
 * same offset (the ELF header, program headers, symbol tables, notes), so everything that
 * points into the file stays true. The sections that were compressed move, inflated, past
 * the end of the source's bytes, and a new section table follows them. The memory file
 * is sized first, so the compressed bodies left behind cost no memory: nothing is ever
 * written there.
 */
#include "debug_inflate.h"

#include <elf.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where inflated sections start, relative to one another: a cache line. */
#define INFLATE_ALIGN 64u
/* No debug section is anywhere near this; a larger ch_size is damage. */
#define INFLATE_MAX_SECTION (1ull << 32)
/* DEFLATE cannot expand more than this (zlib's documented bound): a section claiming more
 * is damage, and must not make the image (allocated before inflating) that large. */
#define INFLATE_MAX_RATIO 1032u

enum inflate_action { INFLATE_COPY, INFLATE_ZLIB, INFLATE_DROP };

struct inflate_plan {
	const uint8_t *data;   /* the source file, mapped */
	size_t size;
	Elf64_Ehdr ehdr;
	Elf64_Shdr *source_shdrs; /* the section table as the file has it */
	Elf64_Shdr *shdrs;     /* the same, rewritten into the image's */
	enum inflate_action *actions;
	size_t image_size;
	int any_inflated;
};

static int inflate_within(const struct inflate_plan *plan, uint64_t offset, uint64_t len)
{
	return offset <= plan->size && len <= plan->size - offset;
}

static uint64_t inflate_round_up(uint64_t value, uint64_t align)
{
	return (value + align - 1) / align * align;
}

/* Checks the ELF header and copies the section table: 0, or -1 for anything but a
 * well-formed 64-bit little-endian file with an ordinary section count. */
static int inflate_read_elf(struct inflate_plan *plan)
{
	Elf64_Ehdr *ehdr = &plan->ehdr;
	if (plan->size < sizeof(*ehdr))
		return -1;
	memcpy(ehdr, plan->data, sizeof(*ehdr));
	if (memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 || ehdr->e_ident[EI_CLASS] != ELFCLASS64 ||
	    ehdr->e_ident[EI_DATA] != ELFDATA2LSB || ehdr->e_shentsize != sizeof(Elf64_Shdr) ||
	    ehdr->e_shnum == 0 || ehdr->e_shstrndx >= ehdr->e_shnum ||
	    !inflate_within(plan, ehdr->e_shoff, (uint64_t)ehdr->e_shnum * sizeof(Elf64_Shdr)))
		return -1;
	if (ehdr->e_phnum == PN_XNUM ||
	    !inflate_within(plan, ehdr->e_phoff, (uint64_t)ehdr->e_phnum * ehdr->e_phentsize))
		return -1;
	size_t table = ehdr->e_shnum * sizeof(Elf64_Shdr);
	plan->source_shdrs = malloc(table);
	plan->shdrs = malloc(table);
	plan->actions = calloc(ehdr->e_shnum, sizeof(*plan->actions));
	if (!plan->source_shdrs || !plan->shdrs || !plan->actions)
		return -1;
	memcpy(plan->source_shdrs, plan->data + ehdr->e_shoff, table);
	memcpy(plan->shdrs, plan->source_shdrs, table);
	/* The image gets an ELF header of its own: no section may hold those bytes. */
	for (size_t i = 0; i < ehdr->e_shnum; i++) {
		const Elf64_Shdr *shdr = &plan->source_shdrs[i];
		if (shdr->sh_type != SHT_NOBITS && shdr->sh_size && shdr->sh_offset < sizeof(*ehdr))
			return -1;
	}
	return 0;
}

/* The section's name from the section name table; "" if it has none there. */
static const char *inflate_name(const struct inflate_plan *plan, const Elf64_Shdr *shdr)
{
	const Elf64_Shdr *names = &plan->source_shdrs[plan->ehdr.e_shstrndx];
	if (names->sh_type == SHT_NOBITS || !inflate_within(plan, names->sh_offset, names->sh_size) ||
	    shdr->sh_name >= names->sh_size)
		return "";
	const char *name = (const char *)plan->data + names->sh_offset + shdr->sh_name;
	return memchr(name, '\0', names->sh_size - shdr->sh_name) ? name : "";
}

/* Whether a note section holds the GNU build-id note with these bytes. */
static int inflate_note_has_build_id(const uint8_t *notes, uint64_t len, const uint8_t *build_id,
				     size_t build_id_len)
{
	uint64_t at = 0;
	while (len - at >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr note;
		memcpy(&note, notes + at, sizeof(note));
		uint64_t name_at = at + sizeof(note);
		uint64_t desc_at = name_at + inflate_round_up(note.n_namesz, 4);
		uint64_t next = desc_at + inflate_round_up(note.n_descsz, 4);
		if (desc_at > len || next > len)
			return 0;
		if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
		    memcmp(notes + name_at, "GNU", 4) == 0)
			return note.n_descsz == build_id_len &&
			       memcmp(notes + desc_at, build_id, build_id_len) == 0;
		at = next;
	}
	return 0;
}

/* Whether the file's build-id note is `build_id`: a debug file of another build describes
 * other code. */
static int inflate_same_build(const struct inflate_plan *plan, const uint8_t *build_id,
			      size_t build_id_len)
{
	for (size_t i = 0; i < plan->ehdr.e_shnum; i++) {
		const Elf64_Shdr *shdr = &plan->source_shdrs[i];
		if (shdr->sh_type == SHT_NOTE && !(shdr->sh_flags & SHF_COMPRESSED) &&
		    inflate_within(plan, shdr->sh_offset, shdr->sh_size) &&
		    inflate_note_has_build_id(plan->data + shdr->sh_offset, shdr->sh_size, build_id,
					      build_id_len))
			return 1;
	}
	return 0;
}

/* What to do with section `index`. A compressed section that is not zlib's (zstd), or
 * that does not hold together, is copied as it is; the file is then left to libdw. */
static enum inflate_action inflate_action_for(const struct inflate_plan *plan, size_t index,
					      Elf64_Chdr *chdr)
{
	const Elf64_Shdr *shdr = &plan->source_shdrs[index];
	if (!(shdr->sh_flags & SHF_COMPRESSED) || shdr->sh_type == SHT_NOBITS ||
	    !inflate_within(plan, shdr->sh_offset, shdr->sh_size) || shdr->sh_size < sizeof(*chdr))
		return INFLATE_COPY;
	memcpy(chdr, plan->data + shdr->sh_offset, sizeof(*chdr));
	if (chdr->ch_type != ELFCOMPRESS_ZLIB || chdr->ch_size == 0 ||
	    chdr->ch_size > INFLATE_MAX_SECTION ||
	    chdr->ch_size / INFLATE_MAX_RATIO > shdr->sh_size - sizeof(*chdr))
		return INFLATE_COPY;
	/* Location lists say where variables live; finding functions, files and lines never
	 * reads them, and libc's are 1.4 MB inflated. */
	const char *name = inflate_name(plan, shdr);
	if (strcmp(name, ".debug_loc") == 0 || strcmp(name, ".debug_loclists") == 0)
		return INFLATE_DROP;
	return INFLATE_ZLIB;
}

/* Decides each section's action and the image's layout, rewriting plan->shdrs. Returns
 * -1 when the file cannot make a whole image: a section left as it is would still be
 * compressed (zstd, or damaged), or holds bytes outside the file. */
static int inflate_plan_layout(struct inflate_plan *plan)
{
	uint64_t end = inflate_round_up(plan->size, INFLATE_ALIGN);
	for (size_t i = 0; i < plan->ehdr.e_shnum; i++) {
		Elf64_Shdr *shdr = &plan->shdrs[i];
		Elf64_Chdr chdr;
		plan->actions[i] = inflate_action_for(plan, i, &chdr);
		if (plan->actions[i] == INFLATE_COPY) {
			if ((shdr->sh_flags & SHF_COMPRESSED) ||
			    (shdr->sh_type != SHT_NOBITS && shdr->sh_size &&
			     !inflate_within(plan, shdr->sh_offset, shdr->sh_size)))
				return -1;
			continue;
		}
		shdr->sh_flags &= ~(uint64_t)SHF_COMPRESSED;
		if (plan->actions[i] == INFLATE_DROP) {
			shdr->sh_type = SHT_NOBITS;
			shdr->sh_size = 0;
			continue;
		}
		shdr->sh_offset = end;
		shdr->sh_size = chdr.ch_size;
		shdr->sh_addralign = chdr.ch_addralign;
		end = inflate_round_up(end + chdr.ch_size, INFLATE_ALIGN);
		plan->any_inflated = 1;
	}
	plan->ehdr.e_shoff = end;
	plan->image_size = end + plan->ehdr.e_shnum * sizeof(Elf64_Shdr);
	return 0;
}

/* Writes the image into `image` (image_size bytes, zero): 0, or -1 if a section does not
 * inflate to its recorded size. */
static int inflate_write(const struct inflate_plan *plan, uint8_t *image)
{
	const Elf64_Ehdr *ehdr = &plan->ehdr;
	memcpy(image, ehdr, sizeof(*ehdr));
	memcpy(image + ehdr->e_phoff, plan->data + ehdr->e_phoff,
	       (size_t)ehdr->e_phnum * ehdr->e_phentsize);
	struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
	if (!inflater)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < ehdr->e_shnum && rc == 0; i++) {
		const Elf64_Shdr *from = &plan->source_shdrs[i], *to = &plan->shdrs[i];
		if (plan->actions[i] == INFLATE_ZLIB) {
			size_t out_len = 0;
			enum libdeflate_result result = libdeflate_zlib_decompress(
				inflater, plan->data + from->sh_offset + sizeof(Elf64_Chdr),
				from->sh_size - sizeof(Elf64_Chdr), image + to->sh_offset, to->sh_size,
				&out_len);
			rc = result == LIBDEFLATE_SUCCESS && out_len == to->sh_size ? 0 : -1;
		} else if (plan->actions[i] == INFLATE_COPY && from->sh_type != SHT_NOBITS) {
			memcpy(image + from->sh_offset, plan->data + from->sh_offset, from->sh_size);
		}
	}
	libdeflate_free_decompressor(inflater);
	memcpy(image + ehdr->e_shoff, plan->shdrs, ehdr->e_shnum * sizeof(Elf64_Shdr));
	return rc;
}

/* The memory file holding the image: its descriptor, or -1. */
static int inflate_image(const struct inflate_plan *plan)
{
	int memfd = memfd_create("memprof-debuginfo", MFD_CLOEXEC);
	if (memfd < 0)
		return -1;
	uint8_t *image = MAP_FAILED;
	if (ftruncate(memfd, (off_t)plan->image_size) == 0)
		image = mmap(NULL, plan->image_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (image != MAP_FAILED) {
		/* Allocating the inflated sections' pages in one call costs less than a page
		 * fault for each (Linux 5.14 and later; older kernels fault them in). */
		size_t from = (size_t)inflate_round_up(plan->size, sysconf(_SC_PAGESIZE));
		if (from < plan->image_size)
			madvise(image + from, plan->image_size - from, MADV_POPULATE_WRITE);
	}
	int rc = image == MAP_FAILED ? -1 : inflate_write(plan, image);
	if (image != MAP_FAILED)
		munmap(image, plan->image_size);
	if (rc < 0) {
		close(memfd);
		return -1;
	}
	return memfd;
}

/* Whether every section is uncompressed and what it holds lies within the file. */
static int inflate_all_plain(const struct inflate_plan *plan)
{
	for (size_t i = 0; i < plan->ehdr.e_shnum; i++) {
		const Elf64_Shdr *shdr = &plan->source_shdrs[i];
		if (shdr->sh_flags & SHF_COMPRESSED)
			return 0;
		if (shdr->sh_type != SHT_NOBITS && shdr->sh_size &&
		    !inflate_within(plan, shdr->sh_offset, shdr->sh_size))
			return 0;
	}
	return 1;
}

/* Maps `fd` read-only into plan->data / plan->size: 0, or -1 (nothing mapped). */
static int inflate_map(int fd, struct inflate_plan *plan)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return -1;
	plan->size = (size_t)st.st_size;
	void *data = mmap(NULL, plan->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED)
		return -1;
	plan->data = data;
	return 0;
}

static void inflate_unmap(struct inflate_plan *plan)
{
	free(plan->source_shdrs);
	free(plan->shdrs);
	free(plan->actions);
	munmap((void *)plan->data, plan->size);
}

int mp_debug_image_check(int fd, const uint8_t *build_id, size_t build_id_len)
{
	struct inflate_plan plan = { 0 };
	if (inflate_map(fd, &plan) < 0)
		return -1;
	int ok = inflate_read_elf(&plan) == 0 && inflate_same_build(&plan, build_id, build_id_len) &&
		 inflate_all_plain(&plan);
	inflate_unmap(&plan);
	return ok ? 0 : -1;
}

int mp_debug_inflate(int fd, const uint8_t *build_id, size_t build_id_len)
{
	struct inflate_plan plan = { 0 };
	if (inflate_map(fd, &plan) < 0)
		return -1;
	int memfd = -1;
	if (inflate_read_elf(&plan) == 0 && inflate_same_build(&plan, build_id, build_id_len) &&
	    inflate_plan_layout(&plan) == 0 && plan.any_inflated)
		memfd = inflate_image(&plan);
	inflate_unmap(&plan);
	return memfd;
}
