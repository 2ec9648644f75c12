/* symbolize.h: turning recorded return addresses into functions, files and lines, offline.
 *
 * Works from the module map stored in the trace (path, load bias, build-id) with elfutils'
 * libdwfl, so it needs the binaries (or their separate debug files) on this machine, not the
 * process. Inlined calls come back as their own frames, every level of them, each at its
 * call site. Missing or stripped debug info
 * degrades to "module+0xoffset"; nothing here aborts on bad input.
 */
#ifndef MEMPROF_SYMBOLIZE_H
#define MEMPROF_SYMBOLIZE_H

#include <stdint.h>

#include "trace_read.h"

struct mp_symbolizer;

/* One source-level frame. Strings are owned by the symbolizer and live until it is freed. */
struct mp_frame {
	const char *function; /* demangled; NULL if unknown */
	const char *file;     /* source path; NULL if unknown */
	uint32_t line;        /* 0 if unknown */
	const char *module;   /* basename of the object, e.g. "libfoo.so"; NULL if unmapped */
	uint64_t address;     /* the recorded return address */
	uint64_t module_offset; /* address - module load bias (ELF virtual address) */
	int inlined;          /* 1 if this frame was inlined into the next (outer) one */
	/* Added after the first version of this interface: */
	int untrusted;        /* 1 if the file on disk has another build-id than the one
				 recorded: its symbols were not used (module+offset only) */
};

struct mp_symbolizer *mp_symbolizer_new(const struct mp_trace *trace);
void mp_symbolizer_free(struct mp_symbolizer *symbolizer);

/* Opens the debug information of the module holding return address `ip` of a stack of
 * `generation`, which is what the first lookup in it would spend its time on (libdw
 * inflates every compressed debug section then: tens of milliseconds for a libc with its
 * debug package). Does nothing for an address in no usable module or one already warmed.
 * Meant to run on a thread of its own while the events are read; nothing else may use the
 * symbolizer until that thread is done with it. */
void mp_symbolizer_warm(struct mp_symbolizer *symbolizer, uint32_t generation, uint64_t ip);

/* The symbol table's name for the function holding return address `ip` of a stack of
 * `generation` (looked up at ip - 1), as mp_frame.function spells names; NULL if the
 * address is in no usable module or no symbol covers it. Reads the ELF symbol table only
 * (the object's .symtab, else its separate debug file's, else .dynsym), never DWARF, so
 * it stays cheap for objects whose debug information is large. A version tag is left out
 * ("__libc_start_main", not "__libc_start_main@@GLIBC_2.34"); the name may be an alias of
 * the DWARF one. */
const char *mp_symbolize_symbol(struct mp_symbolizer *symbolizer, uint32_t generation,
				uint64_t ip);

/* For tests and measurements: in how many modules (over all module maps) DWARF has been
 * opened or looked for, by warming or symbolizing; and whether one of them has the file
 * name `module` (a basename, as in mp_frame.module). */
size_t mp_symbolizer_dwarf_count(const struct mp_symbolizer *symbolizer);
int mp_symbolizer_dwarf_opened(const struct mp_symbolizer *symbolizer, const char *module);

/* Symbolizes return address `ip` of a stack of `generation`. Looks up ip - 1 (the call
 * instruction, not the one after it). Writes up to `max` frames, innermost first (inlined
 * callees before their caller), and returns how many; always at least 1 when max >= 1.
 * Results are cached per (generation, ip). */
int mp_symbolize(struct mp_symbolizer *symbolizer, uint32_t generation, uint64_t ip,
		 struct mp_frame *frames, int max);

#endif
