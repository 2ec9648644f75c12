/* leaks.h: the blocks still allocated at the end of a trace, or at one of its leak
 * checks, by stack and leak kind.
 *
 * Joins the heap model's live blocks (what the trace says was never freed) with the
 * kinds a leak check of the preload wrote (leak_kinds.h), and applies suppressions: each
 * stack with leaks is symbolized once and tested against the rules. Pure computation
 * over a finished analysis; the printers are in report_text.c and report_json.c.
 */
#ifndef MEMPROF_LEAKS_H
#define MEMPROF_LEAKS_H

#include <stdint.h>

#include "analyze.h"
#include "leak_kinds.h"
#include "suppressions.h"

/* What "leaked" means in every command, text and JSON: memcheck's lost kinds, and
 * unknown (no scan said the block is reachable: without a scan every block not freed
 * counts, as before kinds existed). Still reachable blocks are "not freed", never
 * "leaked". These are also the kinds `memprof leaks` lists and fails on by default. */
#define MP_LEAK_LOST_KINDS                                                             \
	((1u << MP_LEAK_KIND_DEFINITE) | (1u << MP_LEAK_KIND_INDIRECT) |                   \
	 (1u << MP_LEAK_KIND_POSSIBLE) | (1u << MP_LEAK_KIND_UNKNOWN))
#define MP_LEAK_DEFAULT_SHOWN MP_LEAK_LOST_KINDS

struct mp_leak_entry {
	uint32_t stack_id;
	unsigned kind;      /* MP_LEAK_KIND_* or MP_LEAK_KIND_UNKNOWN */
	int rule;           /* index of the suppression rule that hides it, or -1 */
	uint64_t bytes, blocks;
};

struct mp_leak_tally {
	uint64_t bytes, blocks, entries;
};

struct mp_leak_list {
	struct mp_leak_kinds kinds;           /* the scan's table and summary */
	struct mp_leak_entry *entries;        /* every (stack, kind), largest bytes first */
	size_t count;
	struct mp_leak_tally by_kind[MP_LEAK_KINDS];  /* not suppressed */
	struct mp_leak_tally suppressed;
	struct mp_leak_tally leaked;          /* not suppressed, of MP_LEAK_LOST_KINDS */
	struct mp_leak_tally *by_rule;        /* one per suppression rule */
	const struct mp_suppressions *supp;
	const struct mp_file_header *header;  /* the trace's: why no check ran, if none did */
};

/* Computes the list for a finished analysis by the kinds of leak check `check` (from 1
 * in time order; 0: the check at exit, else the last one); supp may be NULL. A check
 * made while the program ran lists the blocks live at its time, the others the blocks
 * live at the end. Also sets every stack aggregate's leaked_bytes and leaked_blocks
 * (stack_stats.h) to its unsuppressed blocks of MP_LEAK_LOST_KINDS, so that rankings by
 * MP_METRIC_LEAKED agree with the list. Returns 0, -ENOMEM or -ERANGE (no such check:
 * list->kinds.checks says how many there are); then *list is empty but may be freed. */
int mp_leaks_compute(struct mp_analysis *analysis, const struct mp_suppressions *supp,
		     size_t check, struct mp_leak_list *list);
/* Adds the built-in rules (the blocks glibc keeps until exit that only valgrind, which
 * makes glibc free them, does not report) to *supp. Returns 0 or a negative errno with
 * one line in err. */
int mp_leaks_default_suppressions(struct mp_suppressions *supp, char *err, size_t err_len);
void mp_leaks_free(struct mp_leak_list *list);
/* 1 if an entry of a kind in `kinds` (a set of 1 << kind) is not suppressed. */
int mp_leaks_any(const struct mp_leak_list *list, unsigned kinds);

#endif
