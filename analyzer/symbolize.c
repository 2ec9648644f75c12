/* symbolize.c: return addresses to functions, files and lines with elfutils' libdwfl.
 *
 * One session per module map (generation), built from the trace's MODULE records: each
 * module is reported at its recorded load bias from the recorded path, to one Dwfl for
 * DWARF (whose build-id debug files come inflated, debug_cache.h) and, when its symbol
 * table is asked for, to a second one that opens debug files as they are. A file whose
 * build-id differs from the recorded one is a different binary, so its symbols are not
 * used. Inlined calls come from the DWARF scopes around the address. C++ names are
 * demangled with libstdc++'s __cxa_demangle, looked up with dlopen at run time so the
 * analyzer has no C++ link dependency; without libstdc++ names stay mangled. Rust's
 * names, v0 (_R...) and legacy (_ZN...17h<hash>E, which __cxa_demangle would give with
 * the hash as a last path element), are libiberty's rust_demangle's.
 */
#include "symbolize.h"

#include "debug_cache.h"
#include "symtab_index.h"

#include <dlfcn.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <libiberty/demangle.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Frames kept per address: inline depth beyond this is cut (innermost kept). */
#define SYM_MAX_INLINE 32

/* The Dwfls for one module map; modules[i] is NULL when map[i] has no usable file. Symbol
 * tables are read through a second Dwfl whose debug files are opened as they are: a
 * module's symbol table may be in its debug file, and the first Dwfl inflates all of a
 * debug file's DWARF as it opens it, which deciding the root frames to leave out must not
 * cost when no frame of the module is shown. */
struct sym_session {
	const struct mp_module *map;
	size_t count;
	Dwfl *dwfl;
	Dwfl_Module **modules;
	Dwfl *symtab_dwfl;          /* made on the first symbol table lookup */
	Dwfl_Module **symtab_modules;
	unsigned char *symtab_reported; /* 1: map[i] was reported to symtab_dwfl */
	unsigned char *untrusted; /* 1: build-id mismatch, symbols not used */
	unsigned char *dwarf_asked; /* 1: its DWARF was opened (or looked for) */
};

/* What the symbolizer knows of one return address, cached: its frames once asked for
 * (libdw's scope and line lookups), and its symbol table name once asked for (libdwfl
 * scans the whole table for each address, some ten thousand symbols for libc, and the
 * same few return addresses are at the root of most stacks). */
struct sym_entry {
	uint64_t ip;
	uint32_t generation;
	int used;                 /* 0: empty slot */
	int frame_count;          /* 0: frames not resolved yet */
	struct mp_frame *frames;
	int symbol_known;         /* 1: `symbol` is the table's answer */
	const char *symbol;       /* NULL: no symbol */
};

typedef char *(*sym_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

/* A module's symbol table index (symtab_index.h), made at its first name asked. */
struct sym_symtab {
	Dwfl_Module *module;
	struct mp_symtab_index *index; /* NULL: the module has no table (or memory ran out) */
};

struct mp_symbolizer {
	const struct mp_trace *trace;
	struct sym_session *sessions;
	size_t session_count;
	struct sym_symtab *symtabs;
	size_t symtab_count, symtab_cap;
	struct sym_entry *entries;
	size_t entry_cap, entry_count;  /* entry_cap is a power of two */
	char **strings;
	size_t string_cap, string_count; /* interned strings; string_cap a power of two */
	void *libstdcxx;
	sym_demangle_fn demangle;
	int demangle_tried;
};

static char *sym_debuginfo_path = NULL;

/* Where Debian's -dbg and -dbgsym packages put the debug file of a build-id. */
#define SYM_BUILD_ID_DIR "/usr/lib/debug/.build-id/"

/* Finds a module's separate debug file. The one a package installed for the module's
 * build-id, the first place libdwfl's own search looks, is handed over with its
 * compressed sections already inflated (debug_inflate.h), from the cache of inflated
 * images when it is there (debug_cache.h). That lookup is done here
 * because libdwfl keeps the descriptor it opens itself and never reads one returned in
 * its place. Everything else (other directories, .gnu_debuglink, a file with nothing to
 * inflate or not of this build) is left to libdwfl's search. */
static int sym_find_debuginfo(Dwfl_Module *module, void **userdata, const char *modname,
			      Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			      GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(module, &bits, &vaddr);
	if (len >= 2 && len <= 64) {
		char path[sizeof(SYM_BUILD_ID_DIR) + 2 * 64 + 8];
		int at = snprintf(path, sizeof(path), SYM_BUILD_ID_DIR "%02x/", bits[0]);
		for (int i = 1; i < len; i++)
			at += snprintf(path + at, sizeof(path) - (size_t)at, "%02x", bits[i]);
		snprintf(path + at, sizeof(path) - (size_t)at, ".debug");
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int inflated = fd >= 0 ? mp_debug_cache_open(fd, bits, (size_t)len) : -1;
		if (fd >= 0)
			close(fd);
		if (inflated >= 0) {
			*debuginfo_file_name = strdup(path); /* libdwfl frees it */
			return inflated;
		}
	}
	return dwfl_standard_find_debuginfo(module, userdata, modname, base, file_name,
					    debuglink_file, debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks sym_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = sym_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &sym_debuginfo_path,
};

static const Dwfl_Callbacks sym_symtab_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &sym_debuginfo_path,
};

static uint64_t sym_hash_string(const char *s)
{
	uint64_t hash = 0xcbf29ce484222325ull;
	for (; *s; s++)
		hash = (hash ^ (uint8_t)*s) * 0x100000001b3ull;
	return hash;
}

static int sym_grow_strings(struct mp_symbolizer *sym)
{
	if (sym->string_cap && sym->string_count < sym->string_cap / 2)
		return 0;
	size_t cap = sym->string_cap ? sym->string_cap * 2 : 256;
	char **slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < sym->string_cap; i++) {
		if (!sym->strings[i])
			continue;
		size_t at = sym_hash_string(sym->strings[i]) & (cap - 1);
		while (slots[at])
			at = (at + 1) & (cap - 1);
		slots[at] = sym->strings[i];
	}
	free(sym->strings);
	sym->strings = slots;
	sym->string_cap = cap;
	return 0;
}

/* A copy of `s` owned by the symbolizer, shared by equal strings; NULL for NULL or ENOMEM. */
static const char *sym_intern(struct mp_symbolizer *sym, const char *s)
{
	if (!s || sym_grow_strings(sym) < 0)
		return NULL;
	size_t mask = sym->string_cap - 1, at = sym_hash_string(s) & mask;
	for (; sym->strings[at]; at = (at + 1) & mask)
		if (strcmp(sym->strings[at], s) == 0)
			return sym->strings[at];
	sym->strings[at] = strdup(s);
	if (sym->strings[at])
		sym->string_count++;
	return sym->strings[at];
}

/* The demangled form of a Rust or C++ symbol (interned), or the name itself. */
static const char *sym_name(struct mp_symbolizer *sym, const char *name)
{
	if (!name)
		return NULL;
	if (strncmp(name, "_R", 2) == 0 || strncmp(name, "_ZN", 3) == 0) {
		char *rust = rust_demangle(name, DMGL_PARAMS | DMGL_ANSI);
		if (rust) {
			const char *result = sym_intern(sym, rust);
			free(rust);
			return result;
		}
	}
	if (strncmp(name, "_Z", 2) != 0)
		return sym_intern(sym, name);
	if (!sym->demangle_tried) {
		sym->demangle_tried = 1;
		sym->libstdcxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (sym->libstdcxx)
			*(void **)&sym->demangle = dlsym(sym->libstdcxx, "__cxa_demangle");
	}
	int status = -1;
	char *plain = sym->demangle ? sym->demangle(name, NULL, NULL, &status) : NULL;
	const char *result = sym_intern(sym, status == 0 && plain ? plain : name);
	free(plain);
	return result;
}

static int sym_same_build_id(Dwfl_Module *module, const struct mp_module *record)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(module, &bits, &vaddr);
	if (len <= 0 || record->build_id_len == 0)
		return 1; /* nothing to compare: trust the path */
	return (size_t)len == record->build_id_len && memcmp(bits, record->build_id, (size_t)len) == 0;
}

/* Paths such as "[vdso]" or "linux-vdso.so.1" name no file on disk; and a trace naming
 * a device or FIFO (say /dev/stdin) must not make the analyzer read from it. */
static int sym_has_file(const char *path)
{
	struct stat st;
	return path[0] == '/' && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, R_OK) == 0;
}

static int sym_session_init(struct sym_session *session, const struct mp_module *map,
			    size_t count)
{
	session->map = map;
	session->count = count;
	session->dwfl = dwfl_begin(&sym_callbacks);
	session->modules = calloc(count ? count : 1, sizeof(*session->modules));
	session->untrusted = calloc(count ? count : 1, 1);
	session->dwarf_asked = calloc(count ? count : 1, 1);
	session->symtab_modules = calloc(count ? count : 1, sizeof(*session->symtab_modules));
	session->symtab_reported = calloc(count ? count : 1, 1);
	if (!session->dwfl || !session->modules || !session->untrusted || !session->dwarf_asked ||
	    !session->symtab_modules || !session->symtab_reported)
		return -1;
	dwfl_report_begin(session->dwfl);
	for (size_t i = 0; i < count; i++) {
		if (!sym_has_file(map[i].path))
			continue;
		Dwfl_Module *module = dwfl_report_elf(session->dwfl, map[i].path, map[i].path, -1,
						      map[i].load_bias, false);
		session->modules[i] = module;
		if (module && !sym_same_build_id(module, &map[i]))
			session->untrusted[i] = 1;
	}
	dwfl_report_end(session->dwfl, NULL, NULL);
	return 0;
}

static void sym_session_free(struct sym_session *session)
{
	if (session->dwfl)
		dwfl_end(session->dwfl);
	if (session->symtab_dwfl)
		dwfl_end(session->symtab_dwfl);
	free(session->modules);
	free(session->symtab_modules);
	free(session->symtab_reported);
	free(session->untrusted);
	free(session->dwarf_asked);
}

/* The session of the map that `generation` uses; NULL if it has none or on ENOMEM. */
static struct sym_session *sym_session_for(struct mp_symbolizer *sym, uint32_t generation)
{
	size_t count;
	const struct mp_module *map = mp_trace_modules(sym->trace, generation, &count);
	if (!map)
		return NULL;
	for (size_t i = 0; i < sym->session_count; i++)
		if (sym->sessions[i].map == map)
			return &sym->sessions[i];
	struct sym_session *grown = realloc(sym->sessions,
					    (sym->session_count + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	sym->sessions = grown;
	struct sym_session *session = &sym->sessions[sym->session_count++];
	memset(session, 0, sizeof(*session));
	if (sym_session_init(session, map, count) < 0) {
		sym_session_free(session);
		sym->session_count--;
		return NULL;
	}
	return session;
}

/* The index of module's symbol table, made at the first ask (the modules of a run are
 * tens, looked through in order); NULL if it has none or memory is short. */
static struct mp_symtab_index *sym_symtab_index(struct mp_symbolizer *sym, Dwfl_Module *module)
{
	for (size_t i = 0; i < sym->symtab_count; i++)
		if (sym->symtabs[i].module == module)
			return sym->symtabs[i].index;
	if (sym->symtab_count == sym->symtab_cap) {
		size_t cap = sym->symtab_cap ? 2 * sym->symtab_cap : 16;
		struct sym_symtab *grown = realloc(sym->symtabs, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		sym->symtabs = grown;
		sym->symtab_cap = cap;
	}
	struct sym_symtab *entry = &sym->symtabs[sym->symtab_count++];
	entry->module = module;
	entry->index = mp_symtab_index_new(module);
	return entry->index;
}

/* What dwfl_module_addrname(module, pc) answers, from the module's index where it has
 * one. */
static const char *sym_symtab_lookup(struct mp_symbolizer *sym, Dwfl_Module *module,
				     Dwarf_Addr pc)
{
	struct mp_symtab_index *index = sym_symtab_index(sym, module);
	return index ? mp_symtab_index_name(index, module, pc) : dwfl_module_addrname(module, pc);
}

/* The symbol table's name for `pc` in `module`, demangled and without the version tag
 * that versioned objects' tables carry ("__libc_start_main@@GLIBC_2.34",
 * "_IO_file_xsputn@GLIBC_2.2.5"): the tag names a version node of the object, not the
 * function. NULL if no symbol covers pc or on ENOMEM. */
static const char *sym_symtab_name(struct mp_symbolizer *sym, Dwfl_Module *module,
				   Dwarf_Addr pc)
{
	const char *name = sym_symtab_lookup(sym, module, pc);
	size_t len = name ? strcspn(name, "@") : 0;
	if (!name || name[len] == '\0' || len == 0)
		return sym_name(sym, name);
	char *plain = strndup(name, len);
	const char *result = plain ? sym_name(sym, plain) : NULL;
	free(plain);
	return result;
}

/* The name of a subprogram or inlined_subroutine DIE, preferring the linkage name (which
 * demangles to the qualified C++ name) and following abstract origins. */
static const char *sym_die_name(struct mp_symbolizer *sym, Dwarf_Die *die)
{
	static const int names[] = { DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		Dwarf_Attribute attr;
		const char *name = dwarf_formstring(dwarf_attr_integrate(die, names[i], &attr));
		if (name)
			return sym_name(sym, name);
	}
	return NULL;
}

/* Where an inlined call was made: its DW_AT_call_file / DW_AT_call_line. */
static void sym_call_site(struct mp_symbolizer *sym, Dwarf_Die *cu, Dwarf_Die *inlined,
			  const char **file, uint32_t *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word index = 0, number = 0;
	Dwarf_Files *files;
	size_t file_count;
	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &index) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &file_count) == 0 && index < file_count)
		*file = sym_intern(sym, dwarf_filesrc(files, index, NULL, NULL));
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &number) == 0)
		*line = (uint32_t)number;
}

/* Where a compiler may put a function's concrete DIE besides the CU's top level: rustc
 * puts each function in its module's namespace DIEs and a method in its type's. */
static int sym_is_container(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
	       tag == DW_TAG_enumeration_type || tag == DW_TAG_class_type || tag == DW_TAG_module;
}

/* The DIEs that hold a pc, outermost first, as many as the DWARF nests: the innermost
 * are the ones a stack shows (sym_resolve keeps SYM_MAX_INLINE from the inside). With
 * room for 64 only, a Rust call chain inlined 70 deep lost its 7 innermost functions,
 * and the 64th was shown at the 70th's line. failed: memory ran out. */
struct sym_scope_path {
	Dwarf_Die *dies;
	int count, room, failed;
};

static void sym_path_push(struct sym_scope_path *path, const Dwarf_Die *die)
{
	if (path->count == path->room) {
		int room = path->room ? 2 * path->room : 16;
		Dwarf_Die *dies = realloc(path->dies, (size_t)room * sizeof(*dies));
		if (!dies) {
			path->failed = 1;
			return;
		}
		path->dies = dies;
		path->room = room;
	}
	path->dies[path->count++] = *die;
}

/* Appends to path the DIEs under parent that hold pc, outermost first: through
 * containers to the subprogram that holds it (in_function 0), then its lexical blocks
 * and inlined subroutines down to the innermost. Returns 1 once the subprogram is
 * found. */
static int sym_find_scopes(Dwarf_Die *parent, Dwarf_Addr pc, struct sym_scope_path *path,
			   int in_function)
{
	Dwarf_Die child;
	if (dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);
		if (!in_function && sym_is_container(tag)) {
			if (sym_find_scopes(&child, pc, path, 0))
				return 1;
			continue;
		}
		int scope = in_function ? tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block
					: tag == DW_TAG_subprogram;
		if (!scope || dwarf_haspc(&child, pc) != 1)
			continue;
		sym_path_push(path, &child);
		sym_find_scopes(&child, pc, path, 1);
		return 1;
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

/* The scopes of pc found by walking the CU's tree (sym_find_scopes), innermost first, as
 * dwarf_getscopes would give them: elfutils 0.188's finds nothing where rustc nests the
 * function in namespaces, and a Rust stack lost every inlined frame, the program's own
 * functions among them (tests/integration/rust_program.sh). */
static int sym_walked_scopes(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **chain)
{
	struct sym_scope_path path = { NULL, 0, 0, 0 };
	*chain = NULL;
	if (!sym_find_scopes(cu, pc, &path, 0) || path.failed || !path.count) {
		free(path.dies);
		return 0;
	}
	for (int i = 0; i < path.count / 2; i++) {
		Dwarf_Die outer = path.dies[i];
		path.dies[i] = path.dies[path.count - 1 - i];
		path.dies[path.count - 1 - i] = outer;
	}
	*chain = path.dies;
	return path.count;
}

/* The DIEs that enclose `pc` in the concrete tree, innermost first and ending at the
 * CU: lexical blocks, every inlined_subroutine down to the innermost, the subprogram that
 * holds them. dwarf_getscopes alone will not do: past the innermost inlined instance it
 * continues with the scopes of that instance's abstract definition (the CU, for a
 * function defined at file level), so the callers it was inlined into are lost. So its
 * innermost scope is looked up again in its parent chain (dwarf_getscopes_die), as
 * eu-addr2line -i does; should that fail, dwarf_getscopes' answer is all there is. Where
 * it finds nothing, the CU's tree is walked. Returns the count (0 if none, *chain NULL);
 * the caller frees *chain. */
static int sym_scope_chain(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **chain)
{
	Dwarf_Die *scopes = NULL, *parents = NULL;
	int count = dwarf_getscopes(cu, pc, &scopes);
	*chain = NULL;
	if (count <= 0) {
		free(scopes);
		return sym_walked_scopes(cu, pc, chain);
	}
	int parent_count = dwarf_getscopes_die(&scopes[0], &parents);
	if (parent_count <= 0) {
		free(parents);
		*chain = scopes;
		return count;
	}
	free(scopes);
	*chain = parents;
	return parent_count;
}

/* Fills frames[] (SYM_MAX_INLINE slots) for `pc` in `module`: one frame per inlined call,
 * innermost first, then the function they were inlined into. The innermost frame gets the
 * line table's file and line for pc; each outer one the call site (DW_AT_call_file,
 * DW_AT_call_line) of the inlined instance just inside it. Without DWARF for pc, one frame
 * named from the symbol table. Returns the count (0 if the module gave nothing);
 * frames[*].module and the rest are set by the caller. */
static int sym_resolve(struct mp_symbolizer *sym, Dwfl_Module *module, Dwarf_Addr pc,
		       struct mp_frame *frames)
{
	const char *file = NULL;
	int line = 0, count = 0;
	Dwfl_Line *src = dwfl_module_getsrc(module, pc);
	if (src)
		file = sym_intern(sym, dwfl_lineinfo(src, NULL, &line, NULL, NULL, NULL));
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(module, pc, &bias);
	Dwarf_Die *chain = NULL;
	int chain_count = cu ? sym_scope_chain(cu, pc - bias, &chain) : 0;
	uint32_t frame_line = line > 0 ? (uint32_t)line : 0;
	int have_outer = 0;
	for (int i = 0; i < chain_count && count < SYM_MAX_INLINE && !have_outer; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram &&
		    tag != DW_TAG_entry_point)
			continue;
		have_outer = tag != DW_TAG_inlined_subroutine;
		frames[count++] = (struct mp_frame){ .function = sym_die_name(sym, &chain[i]),
						     .file = file, .line = frame_line,
						     .inlined = !have_outer };
		/* The caller of an inlined body is shown at the call site. */
		if (!have_outer)
			sym_call_site(sym, cu, &chain[i], &file, &frame_line);
	}
	free(chain);
	if (!have_outer && count < SYM_MAX_INLINE) /* no DWARF function: the symbol table */
		frames[count++] = (struct mp_frame){ .file = file, .line = frame_line };
	if (!frames[count - 1].function)
		frames[count - 1].function = sym_symtab_name(sym, module, pc);
	if (count == 1 && !frames[0].function && !frames[0].file)
		return 0;
	return count;
}

static const char *sym_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Where a looked-up address lies: its module record, session and index in the map, and the
 * Dwfl module to ask (NULL when there is no file or its build-id is not the recorded one). */
struct sym_place {
	const struct mp_module *record;
	struct sym_session *session;
	size_t index;
	Dwfl_Module *module;
	int untrusted;
};

static void sym_place_of(struct mp_symbolizer *sym, uint32_t generation, uint64_t pc,
			 struct sym_place *place)
{
	memset(place, 0, sizeof(*place));
	place->record = mp_trace_module_at(sym->trace, generation, pc);
	place->session = place->record ? sym_session_for(sym, generation) : NULL;
	if (!place->session)
		return;
	place->index = (size_t)(place->record - place->session->map);
	if (place->index >= place->session->count)
		return;
	place->untrusted = place->session->untrusted[place->index];
	if (!place->untrusted)
		place->module = place->session->modules[place->index];
}

/* Resolves `ip` of `generation` into frames[] (SYM_MAX_INLINE slots); returns the count. */
static int sym_lookup(struct mp_symbolizer *sym, uint32_t generation, uint64_t ip,
		      struct mp_frame *frames)
{
	uint64_t pc = ip ? ip - 1 : 0;
	struct sym_place place;
	int count = 0;
	sym_place_of(sym, generation, pc, &place);
	if (place.module) {
		place.session->dwarf_asked[place.index] = 1;
		count = sym_resolve(sym, place.module, pc, frames);
	}
	if (count == 0)
		frames[count++] = (struct mp_frame){ 0 };
	for (int i = 0; i < count; i++) {
		frames[i].address = ip;
		frames[i].module = place.record ? sym_intern(sym, sym_basename(place.record->path))
						: NULL;
		frames[i].module_offset = place.record ? ip - place.record->load_bias : 0;
		frames[i].untrusted = place.untrusted;
	}
	return count;
}

/* The slot where the cache tables start looking for (ip, generation). */
static size_t sym_slot(uint64_t ip, uint32_t generation, size_t cap)
{
	return (size_t)((ip ^ ((uint64_t)generation << 48)) * 0x9e3779b97f4a7c15ull) & (cap - 1);
}

static int sym_grow_entries(struct mp_symbolizer *sym)
{
	if (sym->entry_cap && sym->entry_count < sym->entry_cap / 2)
		return 0;
	size_t cap = sym->entry_cap ? sym->entry_cap * 2 : 1024;
	struct sym_entry *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < sym->entry_cap; i++) {
		struct sym_entry *old = &sym->entries[i];
		if (!old->used)
			continue;
		size_t at = sym_slot(old->ip, old->generation, cap);
		while (slots[at].used)
			at = (at + 1) & (cap - 1);
		slots[at] = *old;
	}
	free(sym->entries);
	sym->entries = slots;
	sym->entry_cap = cap;
	return 0;
}

/* The cache entry of (ip, generation), made empty if new; NULL when out of memory. */
static struct sym_entry *sym_entry_for(struct mp_symbolizer *sym, uint32_t generation, uint64_t ip)
{
	if (sym_grow_entries(sym) < 0)
		return NULL;
	size_t mask = sym->entry_cap - 1, at = sym_slot(ip, generation, sym->entry_cap);
	for (; sym->entries[at].used; at = (at + 1) & mask)
		if (sym->entries[at].ip == ip && sym->entries[at].generation == generation)
			return &sym->entries[at];
	sym->entries[at] = (struct sym_entry){ .ip = ip, .generation = generation, .used = 1 };
	sym->entry_count++;
	return &sym->entries[at];
}

void mp_symbolizer_warm(struct mp_symbolizer *sym, uint32_t generation, uint64_t ip)
{
	struct sym_place place;
	Dwarf_Addr bias;
	sym_place_of(sym, generation, ip ? ip - 1 : 0, &place);
	if (!place.module || place.session->dwarf_asked[place.index])
		return;
	place.session->dwarf_asked[place.index] = 1;
	(void)dwfl_module_getdwarf(place.module, &bias);
}

/* The module at place->index in the session's symbol table Dwfl, reported there on first
 * use; NULL if it cannot be. */
static Dwfl_Module *sym_symtab_module(const struct sym_place *place)
{
	struct sym_session *session = place->session;
	size_t i = place->index;
	if (!session->symtab_reported[i]) {
		session->symtab_reported[i] = 1;
		if (!session->symtab_dwfl)
			session->symtab_dwfl = dwfl_begin(&sym_symtab_callbacks);
		if (!session->symtab_dwfl)
			return NULL;
		dwfl_report_begin_add(session->symtab_dwfl);
		session->symtab_modules[i] = dwfl_report_elf(session->symtab_dwfl, session->map[i].path,
							     session->map[i].path, -1,
							     session->map[i].load_bias, false);
		dwfl_report_end(session->symtab_dwfl, NULL, NULL);
	}
	return session->symtab_modules[i];
}

/* The symbol table's name for `ip`, uncached. */
static const char *sym_symbol_lookup(struct mp_symbolizer *sym, uint32_t generation, uint64_t ip)
{
	uint64_t pc = ip ? ip - 1 : 0;
	struct sym_place place;
	sym_place_of(sym, generation, pc, &place);
	/* dwfl_module_addrname reads .symtab (the object's, else its debug file's, else
	 * .dynsym); in the symbol table Dwfl, opening the debug file inflates nothing. */
	Dwfl_Module *module = place.module ? sym_symtab_module(&place) : NULL;
	return module ? sym_symtab_name(sym, module, pc) : NULL;
}

const char *mp_symbolize_symbol(struct mp_symbolizer *sym, uint32_t generation, uint64_t ip)
{
	struct sym_entry *entry = sym_entry_for(sym, generation, ip);
	if (!entry) /* out of memory for the cache: answer uncached */
		return sym_symbol_lookup(sym, generation, ip);
	if (!entry->symbol_known) {
		entry->symbol = sym_symbol_lookup(sym, generation, ip);
		entry->symbol_known = 1;
	}
	return entry->symbol;
}

size_t mp_symbolizer_dwarf_count(const struct mp_symbolizer *sym)
{
	size_t count = 0;
	for (size_t s = 0; s < sym->session_count; s++)
		for (size_t i = 0; i < sym->sessions[s].count; i++)
			count += sym->sessions[s].dwarf_asked[i];
	return count;
}

int mp_symbolizer_dwarf_opened(const struct mp_symbolizer *sym, const char *module)
{
	for (size_t s = 0; s < sym->session_count; s++) {
		const struct sym_session *session = &sym->sessions[s];
		for (size_t i = 0; i < session->count; i++)
			if (session->dwarf_asked[i] &&
			    strcmp(sym_basename(session->map[i].path), module) == 0)
				return 1;
	}
	return 0;
}

struct mp_symbolizer *mp_symbolizer_new(const struct mp_trace *trace)
{
	struct mp_symbolizer *sym = calloc(1, sizeof(*sym));
	if (sym)
		sym->trace = trace;
	return sym;
}

void mp_symbolizer_free(struct mp_symbolizer *sym)
{
	if (!sym)
		return;
	/* Before the modules whose data their names point into. */
	for (size_t i = 0; i < sym->symtab_count; i++)
		mp_symtab_index_free(sym->symtabs[i].index);
	free(sym->symtabs);
	for (size_t i = 0; i < sym->session_count; i++)
		sym_session_free(&sym->sessions[i]);
	free(sym->sessions);
	for (size_t i = 0; i < sym->entry_cap; i++)
		free(sym->entries[i].frames);
	free(sym->entries);
	for (size_t i = 0; i < sym->string_cap; i++)
		free(sym->strings[i]);
	free(sym->strings);
	if (sym->libstdcxx)
		dlclose(sym->libstdcxx);
	free(sym);
}

static int sym_copy_out(const struct sym_entry *entry, struct mp_frame *frames, int max)
{
	int count = entry->frame_count < max ? entry->frame_count : max;
	memcpy(frames, entry->frames, (size_t)count * sizeof(*frames));
	return count;
}

int mp_symbolize(struct mp_symbolizer *sym, uint32_t generation, uint64_t ip,
		 struct mp_frame *frames, int max)
{
	if (max <= 0)
		return 0;
	struct sym_entry *entry = sym_entry_for(sym, generation, ip);
	if (entry && entry->frame_count)
		return sym_copy_out(entry, frames, max);
	struct mp_frame resolved[SYM_MAX_INLINE];
	int count = sym_lookup(sym, generation, ip, resolved);
	struct mp_frame *kept = entry ? malloc((size_t)count * sizeof(*kept)) : NULL;
	if (kept) {
		memcpy(kept, resolved, (size_t)count * sizeof(*kept));
		entry->frames = kept;
		entry->frame_count = count;
		return sym_copy_out(entry, frames, max);
	}
	/* Out of memory for the cache: answer without caching. */
	count = count < max ? count : max;
	memcpy(frames, resolved, (size_t)count * sizeof(*frames));
	return count;
}
