/* unwind.h: the stack walker (unwind.c) and the unwind rules it follows (unwind_rules.c),
 * a feature.
 *
 * mp_unwind_backtrace returns what libunwind's unw_backtrace would return called from the
 * same place, frame for frame, at a fraction of its cost: it follows the same rules that
 * libunwind's fast path (tdep_trace) caches per return address, compiled from .eh_frame by
 * unwind_rules.c into one word each and kept in a table shared by all threads, and it
 * hands any frame that is not of those simple kinds (signal frames, DWARF expressions, no
 * unwind information, a stack it cannot bound) to unw_backtrace itself.
 */
#ifndef MEMPROF_PRELOAD_UNWIND_H
#define MEMPROF_PRELOAD_UNWIND_H

#include <stdint.h>

#include "base.h"

/* Fills ips[0..max) with the return addresses of the caller's stack, innermost first,
 * exactly as unw_backtrace(ips, max) called in place of this function would: ips[0] is
 * the return address into the caller. Returns how many. Never faults on a stack that
 * libunwind could walk; falls back to libunwind where it cannot be sure. */
int mp_unwind_backtrace(void **ips, int max);

/* Per-thread counts, for tests and benchmarks: captures, and those libunwind finished. */
struct mp_unwind_counts {
	uint64_t captures;
	uint64_t fallbacks;
};
void mp_unwind_counts_get(struct mp_unwind_counts *out);

/* --- unwind_rules.c: one return address's rule, compiled from .eh_frame --- */

/* What libunwind's fast path does at a frame, as its tdep_trace caches it
 * (unw_tdep_frame_t), for the kinds it handles without the full unwinder. */
enum mp_unwind_kind {
	MP_UNWIND_OTHER = 1,    /* anything else: libunwind's slow path must decide */
	MP_UNWIND_STANDARD = 2, /* CFA = rsp or rbp + offset, return address at CFA - 8 */
	MP_UNWIND_LAST = 3,     /* the outermost frame: the return address or rbp undefined */
};
struct mp_unwind_rule {
	enum mp_unwind_kind kind;
	int cfa_on_rsp;      /* STANDARD: CFA from rsp (1) or rbp (0) */
	int32_t cfa_offset;  /* STANDARD: |cfa_offset| < 2^28 */
	int rbp_saved;       /* STANDARD: the caller's rbp is at CFA + rbp_offset */
	int32_t rbp_offset;  /* |rbp_offset| < 2^14 */
};
/* The rule for the frame whose return address (or, for the innermost frame, whose pc
 * + 1) is ra: the row of its FDE at ra - 1, classified as libunwind 1.6's
 * tdep_stash_frame would. OTHER when unsure. Reads only the loaded objects' eh_frame_hdr
 * and eh_frame, within their segments, inside dl_iterate_phdr. Allocation-free. */
void mp_unwind_rule_find(uintptr_t ra, struct mp_unwind_rule *out);

#endif
