/* symtab_index.h: a module's ELF symbol table sorted by address, so that naming a return
 * address from it costs a binary search, not a pass over the table.
 *
 * libdwfl's dwfl_module_addrname reads every symbol of the table for each address it is
 * asked about: 0.73 ms an address for cc1's 28898 exported symbols, and `memprof report`
 * on a 0.2 s run of cc1 took 2.2 s, nearly all of it there. The index answers what
 * dwfl_module_addrname would answer, by its rules (elfutils 0.188's
 * libdwfl/dwfl_module_addrsym.c): global symbols first, locals only if no global symbol
 * with a size holds the address, the closest symbol or the more global binding, a
 * sizeless label only where no sized symbol reaches it. Where a sizeless label could be the
 * answer the index asks libdwfl itself, which is rare: compilers give functions sizes.
 */
#ifndef MEMPROF_SYMTAB_INDEX_H
#define MEMPROF_SYMTAB_INDEX_H

#include <elfutils/libdwfl.h>
#include <stdint.h>

struct mp_symtab_index;

/* The index of module's symbol table (what dwfl_module_getsymtab gives: .symtab, else the
 * debug file's, else .dynsym); NULL if it has none or memory is short. Its names point
 * into the module's data: it must not outlive the module. */
struct mp_symtab_index *mp_symtab_index_new(Dwfl_Module *module);
void mp_symtab_index_free(struct mp_symtab_index *index);

/* dwfl_module_addrname(module, addr) of the module the index was made from. */
const char *mp_symtab_index_name(struct mp_symtab_index *index, Dwfl_Module *module,
				 uint64_t addr);

/* For tests: the look-ups that had to ask libdwfl. */
uint64_t mp_symtab_index_asked(const struct mp_symtab_index *index);

#endif
