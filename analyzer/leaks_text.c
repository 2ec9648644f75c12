/* leaks_text.c: the human-readable `memprof leaks`: what leaked, by kind, then where. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "text_format.h"
#include "text_stack.h"

const char *mp_leaks_meaning(const struct mp_leak_list *list, char *buf, size_t len)
{
	const struct mp_leak_kinds *kinds = &list->kinds;

	if (kinds->state == MP_LEAK_SCAN_DONE)
		return list->by_kind[MP_LEAK_KIND_UNKNOWN].blocks
			       ? "definitely, indirectly or possibly lost, or allocated after the "
				 "exit scan"
			       : "definitely, indirectly or possibly lost";
	if (kinds->state == MP_LEAK_SCAN_FAILED && (kinds->flags & MP_LEAK_SCAN_SAMPLED))
		return "every block not freed counts, sampled traces not being scanned for leaks";
	if (kinds->state == MP_LEAK_SCAN_FAILED && kinds->status == E2BIG)
		return "every block not freed counts, the exit scan having been skipped "
		       "(MEMPROF_LEAK_CHECK_MAX_MB)";
	if (kinds->state == MP_LEAK_SCAN_FAILED)
		return "every block not freed counts, the exit scan having failed";
	/* The reason the header gives, as `memprof leaks` says it, not a list of guesses. */
	snprintf(buf, len, "every block not freed counts, no leak check having run (%s)",
		 list->header ? mp_trace_no_kinds_text(list->header) : "no trace header");
	return buf;
}

static void leaks_tally_line(FILE *out, const char *label, const struct mp_leak_tally *tally,
			     const char *note)
{
	char bytes[MP_FMT_LEN], blocks[MP_FMT_LEN];
	fprintf(out, "  %-16s %s in %s%s\n", label, mp_fmt_bytes(bytes, sizeof(bytes), tally->bytes),
		mp_fmt_counted(blocks, sizeof(blocks), tally->blocks, "block", "blocks"), note);
}

/* When the check ran: "at exit", "on SIGUSR1 at 1.234 s", "as the process died of
 * SIGTERM". */
static const char *leaks_check_when(const struct mp_file_header *header,
				    const struct mp_leak_kinds *kinds, char *buf, size_t len)
{
	char sig[24]; /* "SIGRTMIN+15", "signal 4294967295" */
	mp_fmt_signal(sig, sizeof(sig), kinds->signal);
	uint64_t start = header->start_monotonic_ns;
	switch (kinds->reason) {
	case MP_LEAK_CHECK_SIGNAL:
		snprintf(buf, len, "on %s at %.3f s", sig,
			 (double)(kinds->time_ns > start ? kinds->time_ns - start : 0) / 1e9);
		break;
	case MP_LEAK_CHECK_FATAL_SIGNAL:
		snprintf(buf, len, "as the process died of %s", sig);
		break;
	default:
		snprintf(buf, len, "at exit");
	}
	return buf;
}

/* What the check did, or why there are no kinds. */
static void leaks_scan_line(FILE *out, const struct mp_leak_kinds *kinds,
			    const struct mp_file_header *header)
{
	char roots[MP_FMT_LEN], blocks[MP_FMT_LEN], when[96], which[96] = "", threads[96] = "";

	if (kinds->checks > 1)
		snprintf(which, sizeof(which), " (check %zu of %zu; --check N for another)",
			 kinds->index, kinds->checks);
	if (kinds->not_stopped)
		snprintf(threads, sizeof(threads), "; %u other %s kept running during the scan",
			 kinds->not_stopped, kinds->not_stopped == 1 ? "thread" : "threads");
	if (kinds->state == MP_LEAK_SCAN_DONE)
		fprintf(out, "  Reachability scanned %s in %.3f ms: %s of roots, %s of blocks%s%s\n",
			leaks_check_when(header, kinds, when, sizeof(when)),
			(double)kinds->scan_ns / 1e6, mp_fmt_bytes(roots, sizeof(roots), kinds->root_bytes),
			mp_fmt_bytes(blocks, sizeof(blocks), kinds->block_bytes), threads, which);
	else if (kinds->state == MP_LEAK_SCAN_FAILED && (kinds->flags & MP_LEAK_SCAN_SAMPLED))
		fprintf(out, "  No leak kinds: sampled traces are not scanned at exit (only the "
			     "sampled blocks are known); every block not freed is listed\n");
	else if (kinds->state == MP_LEAK_SCAN_FAILED && kinds->status == E2BIG)
		fprintf(out, "  No leak kinds: the exit scan was skipped, the heap needing more "
			     "memory to scan than MEMPROF_LEAK_CHECK_MAX_MB allowed; every block not "
			     "freed is listed\n");
	else if (kinds->state == MP_LEAK_SCAN_FAILED)
		fprintf(out, "  No leak kinds: the exit scan failed (%s); every block not freed is "
			     "listed\n", strerror((int)kinds->status));
	else
		fprintf(out, "  No leak kinds in this trace (%s); every block not freed is listed\n",
			mp_trace_no_kinds_text(header));
}

/* The per-kind summary, what the scan did, and what the suppressions hid. */
/* A fork child's check knows only the blocks the child allocated: one it reached only
 * through a block inherited from its parent (a structure the parent built, which the
 * child extends) is counted lost although memcheck, which knows every block, would find
 * it. Said wherever such a check lost anything. */
static void leaks_fork_child_line(FILE *out, const struct mp_leak_list *list,
				  const struct mp_file_header *header)
{
	if (!(header->flags & MP_TRACE_FORK_CHILD) || list->kinds.state != MP_LEAK_SCAN_DONE ||
	    !list->leaked.blocks)
		return;
	fprintf(out, "  This process is a fork child: the blocks it inherited from its parent are "
		     "in the parent's trace, not here, so a block it reaches only through one of "
		     "them is counted lost\n");
}

static void leaks_summary(FILE *out, const struct mp_leak_list *list, int show_reachable,
			  const struct mp_file_header *header)
{
	char count[MP_FMT_LEN], bytes[MP_FMT_LEN], blocks[MP_FMT_LEN];

	if (list->kinds.state == MP_LEAK_SCAN_DONE) {
		leaks_tally_line(out, "definitely lost:", &list->by_kind[MP_LEAK_KIND_DEFINITE], "");
		leaks_tally_line(out, "indirectly lost:", &list->by_kind[MP_LEAK_KIND_INDIRECT], "");
		leaks_tally_line(out, "possibly lost:", &list->by_kind[MP_LEAK_KIND_POSSIBLE], "");
		leaks_tally_line(out, "still reachable:", &list->by_kind[MP_LEAK_KIND_REACHABLE],
				 show_reachable ? " (not freed, not leaked)"
						: " (not freed, not leaked; listed with --show-reachable)");
		/* As memcheck's summary says it: a heuristic may also hide a leak behind a
		 * pointer of the right shape (MEMPROF_LEAK_HEURISTICS=none to see). */
		if (list->kinds.heuristic_blocks)
			fprintf(out, "                   of which reachable by memcheck's heuristics "
				     "(new[] arrays, base class pointers, ...): %s in %s %s\n",
				mp_fmt_bytes(bytes, sizeof(bytes), list->kinds.heuristic_bytes),
				mp_fmt_count(count, sizeof(count), list->kinds.heuristic_blocks),
				list->kinds.heuristic_blocks == 1 ? "block" : "blocks");
		if (list->by_kind[MP_LEAK_KIND_UNKNOWN].blocks)
			leaks_tally_line(out, "unknown:", &list->by_kind[MP_LEAK_KIND_UNKNOWN],
					 " (allocated after the check)");
	}
	leaks_scan_line(out, &list->kinds, header);
	leaks_fork_child_line(out, list, header);
	if (!list->supp || !list->supp->count)
		return;
	leaks_tally_line(out, "suppressed:", &list->suppressed, "");
	for (size_t i = 0; i < list->supp->count; i++) {
		const struct mp_supp_rule *rule = &list->supp->rules[i];
		const struct mp_leak_tally *tally = &list->by_rule[i];
		if (tally->entries)
			fprintf(out, "    %s, %s in %s by '%s' (%s:%" PRIu32 ")\n",
				mp_fmt_counted(count, sizeof(count), tally->entries, "leak", "leaks"),
				mp_fmt_bytes(bytes, sizeof(bytes), tally->bytes),
				mp_fmt_counted(blocks, sizeof(blocks), tally->blocks, "block", "blocks"),
				rule->text, rule->file, rule->line);
	}
}

static const char *leaks_kind_words(unsigned kind)
{
	switch (kind) {
	case MP_LEAK_KIND_DEFINITE:
		return "definitely lost";
	case MP_LEAK_KIND_INDIRECT:
		return "indirectly lost";
	case MP_LEAK_KIND_POSSIBLE:
		return "possibly lost";
	case MP_LEAK_KIND_REACHABLE:
		return "still reachable";
	default:
		return "not freed (kind unknown)";
	}
}

static int leaks_listed(const struct mp_leak_entry *entry, unsigned shown)
{
	return entry->rule < 0 && (shown & (1u << entry->kind));
}

/* The call stacks the leaked blocks come from, each counted once whatever its kinds. */
static uint64_t leaks_stack_count(struct mp_analysis *analysis, const struct mp_leak_list *list)
{
	uint32_t stack_count = mp_stack_stats_count(&analysis->model.stacks);
	uint8_t *seen = calloc(stack_count + 1, 1);
	uint64_t count = 0;

	for (size_t i = 0; seen && i < list->count; i++) {
		const struct mp_leak_entry *entry = &list->entries[i];
		if (!leaks_listed(entry, MP_LEAK_LOST_KINDS) || seen[entry->stack_id])
			continue;
		seen[entry->stack_id] = 1;
		count++;
	}
	free(seen);
	return count;
}

static void leaks_heading(FILE *out, struct mp_analysis *analysis, const struct mp_leak_list *list)
{
	char bytes[MP_FMT_LEN], blocks[MP_FMT_LEN], stacks[MP_FMT_LEN];

	fprintf(out, "memprof leaks for '%s'", analysis->path);
	if (!analysis->complete)
		fprintf(out, " (INCOMPLETE: %s)", analysis->stop_reason);
	fprintf(out, ": %s leaked in %s from %s\n",
		mp_fmt_bytes(bytes, sizeof(bytes), list->leaked.bytes),
		mp_fmt_counted(blocks, sizeof(blocks), list->leaked.blocks, "block", "blocks"),
		mp_fmt_counted(stacks, sizeof(stacks), leaks_stack_count(analysis, list), "call stack",
			       "call stacks"));
}

void mp_leaks_text(FILE *out, struct mp_analysis *analysis, const struct mp_leak_list *list,
		   const struct mp_report_options *opts)
{
	char bytes[MP_FMT_LEN], blocks[MP_FMT_LEN], more[MP_FMT_LEN];
	size_t listed = 0, shown = 0;

	leaks_heading(out, analysis, list);
	leaks_summary(out, list, (opts->shown >> MP_LEAK_KIND_REACHABLE) & 1,
		      mp_trace_header(analysis->trace));
	for (size_t i = 0; i < list->count; i++) {
		const struct mp_leak_entry *entry = &list->entries[i];
		if (!leaks_listed(entry, opts->shown))
			continue;
		if (opts->top && listed++ >= opts->top)
			continue;
		shown++;
		fprintf(out, "\n%s in %s %s\n", mp_fmt_bytes(bytes, sizeof(bytes), entry->bytes),
			mp_fmt_counted(blocks, sizeof(blocks), entry->blocks, "block", "blocks"),
			leaks_kind_words(entry->kind));
		mp_text_stack_print(out, analysis, entry->stack_id, "    ", opts->long_names);
	}
	if (opts->top && listed > shown)
		fprintf(out, "\n%s\n", mp_fmt_more(more, sizeof(more), shown, listed));
}
