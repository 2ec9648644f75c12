/* test_symtab_index.c: the symbol table index answers what libdwfl's dwfl_module_addrname
 * answers, address for address, in real objects: libc with its debug file's .symtab
 * (locals before globals: two passes; assembly functions), cc1 with only its .dynsym (29k
 * exported symbols), libstdc++ (weak and unique bindings, aliases of one address) and
 * this test program's own .symtab. The edges of SYMBOLS_ASKED symbols spread over each
 * table are asked (one before, at, one after its start; one before and at its end), and
 * SWEEP_ASKED addresses spread over the object: libdwfl takes up to 0.7 ms for each. In
 * Debian's objects the index must have answered most of them itself, not by asking
 * libdwfl: all but those a sizeless label might own (gaps between functions, assembly),
 * 0-11% here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symtab_index.h"

static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

#define SYMBOLS_ASKED 600
#define SWEEP_ASKED 1500

struct tally {
	unsigned long asked_addresses, named, differed;
};

static void compare_at(struct mp_symtab_index *index, Dwfl_Module *module,
		       uint64_t addr, struct tally *tally)
{
	const char *theirs = dwfl_module_addrname(module, addr);
	const char *ours = mp_symtab_index_name(index, module, addr);
	tally->asked_addresses++;
	tally->named += theirs != NULL;
	if ((theirs == NULL) != (ours == NULL) || (theirs && strcmp(theirs, ours) != 0)) {
		if (tally->differed++ < 5)
			print_message("at %#llx: libdwfl '%s', the index '%s'\n",
				      (unsigned long long)addr, theirs ? theirs : "(none)",
				      ours ? ours : "(none)");
	}
}

/* The edges of symbols spread over the table, and addresses spread over the module.
 * Objects of Debian's are also held to the index's answering most of them itself. */
static void compare_module(const char *path, int want_two_passes, int debians)
{
	if (access(path, R_OK) != 0) {
		print_message("%s: not on this machine\n", path);
		fail();
	}
	Dwfl *dwfl = dwfl_begin(&callbacks);
	assert_non_null(dwfl);
	dwfl_report_begin(dwfl);
	Dwfl_Module *module = dwfl_report_elf(dwfl, path, path, -1, 0x10000000, false);
	dwfl_report_end(dwfl, NULL, NULL);
	assert_non_null(module);
	int count = dwfl_module_getsymtab(module);
	assert_true(count > 1);
	if (want_two_passes)
		assert_true(dwfl_module_getsymtab_first_global(module) > 1);
	struct mp_symtab_index *index = mp_symtab_index_new(module);
	assert_non_null(index);
	struct tally tally = { 0, 0, 0 };
	int step = count / SYMBOLS_ASKED + 1;
	for (int ndx = 1; ndx < count; ndx += step) {
		GElf_Sym sym;
		GElf_Word shndx;
		if (!dwfl_module_getsym(module, ndx, &sym, &shndx) || sym.st_value == 0)
			continue;
		uint64_t start = sym.st_value, end = sym.st_value + sym.st_size;
		compare_at(index, module, start - 1, &tally);
		compare_at(index, module, start, &tally);
		compare_at(index, module, start + 1, &tally);
		if (sym.st_size) {
			compare_at(index, module, end - 1, &tally);
			compare_at(index, module, end, &tally);
		}
	}
	Dwarf_Addr low, high;
	dwfl_module_info(module, NULL, &low, &high, NULL, NULL, NULL, NULL);
	/* An odd stride, so that the addresses fall at every offset within functions. */
	uint64_t stride = ((high - low) / SWEEP_ASKED) | 1;
	for (uint64_t addr = low; addr < high; addr += stride)
		compare_at(index, module, addr, &tally);
	uint64_t asked = mp_symtab_index_asked(index);
	print_message("%s: %d symbols, %lu addresses (%lu named), %llu asked of libdwfl\n", path,
		      count, tally.asked_addresses, tally.named, (unsigned long long)asked);
	assert_int_equal(tally.differed, 0);
	/* The comparison means something: most addresses have a name... */
	assert_true(tally.named > tally.asked_addresses / 2);
	/* ...and the index found most of them itself (not in this test's own program,
	 * whose sanitized build has sizeless labels by the hundred). */
	if (debians)
		assert_true(asked * 4 < tally.asked_addresses);
	mp_symtab_index_free(index);
	dwfl_end(dwfl);
}

static void test_symtab_index_libc_with_its_debug_symbols(void **state)
{
	(void)state;
	compare_module("/usr/lib/x86_64-linux-gnu/libc.so.6", 1, 1);
}

static void test_symtab_index_cc1_dynsym(void **state)
{
	(void)state;
	compare_module("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", 0, 1);
}

static void test_symtab_index_libstdcxx(void **state)
{
	(void)state;
	compare_module("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", 0, 1);
}

static void test_symtab_index_own_symtab(void **state)
{
	(void)state;
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(len > 0);
	self[len] = 0;
	compare_module(self, 1, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symtab_index_libc_with_its_debug_symbols),
		cmocka_unit_test(test_symtab_index_cc1_dynsym),
		cmocka_unit_test(test_symtab_index_libstdcxx),
		cmocka_unit_test(test_symtab_index_own_symtab),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
