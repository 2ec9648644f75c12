/* symtab_index.c: a module's symbol table sorted by address (see symtab_index.h).
 *
 * The symbols dwfl_module_addrname considers (named, defined, not a section, file or TLS
 * symbol) are split once into those with a size, sorted by address with the highest end
 * so far beside each, and the sizeless ones, their addresses sorted. For an address, the
 * sized symbols that hold it are found by walking back from the last one that starts at
 * or below it while an end reaches past it (functions rarely overlap: a step or two),
 * then weighed in table order as libdwfl weighs them. Its two passes, globals then
 * locals, are kept: a table's symbols past first_global (dwfl_module_getsymtab_first_global)
 * are the first pass, all of them when only .dynsym was found (first_global 0).
 */
#include "symtab_index.h"

#include <gelf.h>
#include <stdlib.h>

struct sized_symbol {
	uint64_t value, end;
	const char *name;
	int ndx;     /* in the table: the order libdwfl weighs them in */
	int binding; /* libdwfl's: global 3, weak 2, local 1, other 0 */
	int first_pass;
};

struct mp_symtab_index {
	struct sized_symbol *sized; /* by value, then table order */
	uint64_t *starts;           /* their values, to search */
	uint64_t *reach;            /* the highest end of sized[0..i] */
	uint64_t *reach_first;      /* the same over those of the first pass */
	size_t sized_count;
	uint64_t *sizeless; /* sorted */
	size_t sizeless_count;
	int two_passes; /* the table has locals before its globals */
	uint64_t asked;
};

static int binding_value(const GElf_Sym *sym)
{
	switch (GELF_ST_BIND(sym->st_info)) {
	case STB_GLOBAL: return 3;
	case STB_WEAK: return 2;
	case STB_LOCAL: return 1;
	default: return 0;
	}
}

static int by_value(const void *left, const void *right)
{
	const struct sized_symbol *a = left, *b = right;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return (a->ndx > b->ndx) - (a->ndx < b->ndx);
}

static int by_address(const void *left, const void *right)
{
	uint64_t a = *(const uint64_t *)left, b = *(const uint64_t *)right;
	return (a > b) - (a < b);
}

/* Whether dwfl_module_addrname looks at the symbol at all. */
static int considered(const char *name, const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);
	return name && name[0] && sym->st_shndx != SHN_UNDEF && type != STT_SECTION &&
	       type != STT_FILE && type != STT_TLS;
}

void mp_symtab_index_free(struct mp_symtab_index *index)
{
	if (!index)
		return;
	free(index->sized);
	free(index->starts);
	free(index->reach);
	free(index->reach_first);
	free(index->sizeless);
	free(index);
}

/* Fills the sorted arrays; -1 if memory is short. */
static int index_fill(struct mp_symtab_index *index, Dwfl_Module *module, int count,
		      int first_global)
{
	size_t room = (size_t)count;
	index->sized = malloc(room * sizeof(*index->sized));
	index->sizeless = malloc(room * sizeof(*index->sizeless));
	index->starts = malloc(room * sizeof(*index->starts));
	index->reach = malloc(room * sizeof(*index->reach));
	index->reach_first = malloc(room * sizeof(*index->reach_first));
	if (!index->sized || !index->sizeless || !index->starts || !index->reach ||
	    !index->reach_first)
		return -1;
	int first_pass_from = first_global == 0 ? 1 : first_global;
	for (int ndx = 1; ndx < count; ndx++) {
		GElf_Sym sym;
		GElf_Word shndx;
		/* st_value comes back adjusted to the module's load address. */
		const char *name = dwfl_module_getsym(module, ndx, &sym, &shndx);
		if (!considered(name, &sym))
			continue;
		if (sym.st_size == 0) {
			index->sizeless[index->sizeless_count++] = sym.st_value;
			continue;
		}
		index->sized[index->sized_count++] = (struct sized_symbol){
			sym.st_value, sym.st_value + sym.st_size, name, ndx, binding_value(&sym),
			ndx >= first_pass_from };
	}
	qsort(index->sized, index->sized_count, sizeof(*index->sized), by_value);
	qsort(index->sizeless, index->sizeless_count, sizeof(*index->sizeless), by_address);
	uint64_t reach = 0, reach_first = 0;
	for (size_t i = 0; i < index->sized_count; i++) {
		index->starts[i] = index->sized[i].value;
		if (index->sized[i].end > reach)
			reach = index->sized[i].end;
		if (index->sized[i].first_pass && index->sized[i].end > reach_first)
			reach_first = index->sized[i].end;
		index->reach[i] = reach;
		index->reach_first[i] = reach_first;
	}
	return 0;
}

struct mp_symtab_index *mp_symtab_index_new(Dwfl_Module *module)
{
	int count = dwfl_module_getsymtab(module);
	int first_global = dwfl_module_getsymtab_first_global(module);
	if (count <= 1 || first_global < 0)
		return NULL;
	struct mp_symtab_index *index = calloc(1, sizeof(*index));
	if (!index)
		return NULL;
	index->two_passes = first_global > 1;
	if (index_fill(index, module, count, first_global) < 0) {
		mp_symtab_index_free(index);
		return NULL;
	}
	return index;
}

/* The last of sorted values at or below addr: its position + 1, 0 if none. */
static size_t count_at_or_below(const uint64_t *values, size_t count, uint64_t addr)
{
	size_t low = 0, high = count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (values[mid] <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

#define CANDIDATES_MAX 32

/* Whether libdwfl, holding `best` and meeting `sym` after it in the table, takes sym: a
 * closer start or a more global binding; at the same start, a smaller symbol at a
 * binding no worse, or any at a better one. */
static int replaces(const struct sized_symbol *best, const struct sized_symbol *sym)
{
	uint64_t best_size = best->end - best->value, size = sym->end - sym->value;
	if (best->value < sym->value || best->binding < sym->binding)
		return 1;
	return best->value == sym->value &&
	       ((best_size > size && best->binding <= sym->binding) ||
		(best_size >= size && best->binding < sym->binding));
}

/* libdwfl's choice among the sized symbols of one pass that hold addr, met in table
 * order; NULL if none. *crowded: more hold it than are weighed here (libdwfl decides). */
static const struct sized_symbol *pass_choice(const struct mp_symtab_index *index, size_t below,
					      uint64_t addr, int first_pass, int *crowded)
{
	const struct sized_symbol *held[CANDIDATES_MAX];
	size_t count = 0;
	for (size_t i = below; i > 0 && index->reach[i - 1] > addr; i--) {
		const struct sized_symbol *sym = &index->sized[i - 1];
		if (sym->end <= addr || sym->first_pass != first_pass)
			continue;
		if (count == CANDIDATES_MAX) {
			*crowded = 1;
			return NULL;
		}
		/* Kept in table order as they come (by value, backwards). */
		size_t at = count++;
		for (; at > 0 && held[at - 1]->ndx > sym->ndx; at--)
			held[at] = held[at - 1];
		held[at] = sym;
	}
	const struct sized_symbol *best = count ? held[0] : NULL;
	for (size_t i = 1; i < count; i++)
		if (replaces(best, held[i]))
			best = held[i];
	return best;
}

const char *mp_symtab_index_name(struct mp_symtab_index *index, Dwfl_Module *module,
				 uint64_t addr)
{
	size_t below = count_at_or_below(index->starts, index->sized_count, addr);
	int crowded = 0;
	const struct sized_symbol *chosen = pass_choice(index, below, addr, 1, &crowded);
	if (chosen)
		return chosen->name;
	/* A sizeless label is chosen only where no symbol of the first pass that starts at
	 * or below addr reaches past it: if one might be, libdwfl decides. */
	size_t labels = count_at_or_below(index->sizeless, index->sizeless_count, addr);
	uint64_t reach_first = below ? index->reach_first[below - 1] : 0;
	if (!crowded && !(labels && index->sizeless[labels - 1] >= reach_first)) {
		chosen = index->two_passes ? pass_choice(index, below, addr, 0, &crowded) : NULL;
		if (!crowded)
			return chosen ? chosen->name : NULL;
	}
	index->asked++;
	return dwfl_module_addrname(module, addr);
}

uint64_t mp_symtab_index_asked(const struct mp_symtab_index *index)
{
	return index ? index->asked : 0;
}
