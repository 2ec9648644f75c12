/* loaded_object.c: see loaded_object.h. */
#include "loaded_object.h"

void mp_test_object_range(const struct dl_phdr_info *info, uint64_t *start, uint64_t *end)
{
	*start = UINT64_MAX;
	*end = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t lo = info->dlpi_addr + (ph->p_vaddr & ~(uint64_t)4095);
		uint64_t hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		*start = lo < *start ? lo : *start;
		*end = hi > *end ? hi : *end;
	}
}
