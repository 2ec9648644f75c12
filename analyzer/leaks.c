/* leaks.c: grouping the blocks left at the end of a trace by stack and kind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leaks.h"

/* Per stack: an entry index + 1 for each kind, and the suppression verdict. */
struct leaks_stack {
	uint32_t entry[MP_LEAK_KINDS];
	int rule_plus_2;   /* the suppression rule's index + 2; 1: none; 0: not looked at */
};

static int leaks_rule_of(struct mp_analysis *analysis, const struct mp_suppressions *supp,
			 uint32_t stack_id)
{
	/* Static: 56 KiB is too much for the stack, and reports are single-threaded. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	if (!supp || supp->count == 0)
		return -1;
	/* Every frame, the ones the report leaves out included, so that a rule hides the same
	 * leaks with or without --full-stacks. */
	int count = mp_analysis_all_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	return mp_suppressions_match(supp, frames, count);
}

static int leaks_compare(const void *left, const void *right)
{
	const struct mp_leak_entry *a = left, *b = right;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->stack_id != b->stack_id)
		return a->stack_id < b->stack_id ? -1 : 1;
	return a->kind < b->kind ? -1 : a->kind > b->kind;
}

/* Adds one live block to its (stack, kind) entry. 0 or -ENOMEM. */
static int leaks_add(struct mp_leak_list *list, struct leaks_stack *stack, size_t *cap,
		     uint32_t stack_id, unsigned kind, uint64_t size)
{
	if (!stack->entry[kind]) {
		if (list->count == *cap) {
			size_t grown_cap = *cap ? *cap * 2 : 64;
			void *grown = realloc(list->entries, grown_cap * sizeof(*list->entries));
			if (!grown)
				return -ENOMEM;
			list->entries = grown;
			*cap = grown_cap;
		}
		list->entries[list->count] = (struct mp_leak_entry){ stack_id, kind, -1, 0, 0 };
		stack->entry[kind] = (uint32_t)++list->count;
	}
	struct mp_leak_entry *entry = &list->entries[stack->entry[kind] - 1];
	entry->bytes += size;
	entry->blocks++;
	return 0;
}

/* Blocks that glibc itself keeps until exit and that only valgrind, which makes glibc free
 * them through __libc_freeres, does not report: the TLS vector of every thread that ever
 * ran, kept with the thread's cached stack (reached by an interior pointer, so "possibly
 * lost"); and whatever the dynamic loader allocated for itself, such as the table
 * _dl_find_object keeps of the objects loaded, which dlopen() grows and reaches by a
 * pointer it aligned into the block (every program that ever called dlopen() had a block
 * "possibly lost"). What the loader allocates is its own, never the program's: a block
 * of the program's is allocated by the program's code, even in a constructor that
 * dlopen() runs. Reported as suppressed by "(built-in)"; --no-default-suppressions shows
 * them. */
static const char leaks_builtin_rules[] = "function:*_dl_allocate_tls\n"
					  "alloc-module:ld-linux*.so*\n";

int mp_leaks_default_suppressions(struct mp_suppressions *supp, char *err, size_t err_len)
{
	return mp_suppressions_parse(supp, "(built-in)", leaks_builtin_rules, err, err_len);
}

static void leaks_tally(struct mp_leak_tally *tally, const struct mp_leak_entry *entry)
{
	tally->bytes += entry->bytes;
	tally->blocks += entry->blocks;
	tally->entries++;
}

/* Counts a lost entry in the list's and its stack's leaked figures. */
static void leaks_leaked(struct mp_leak_list *list, struct mp_analysis *analysis,
			 const struct mp_leak_entry *entry)
{
	struct mp_stack_agg *agg = &analysis->model.stacks.aggs[entry->stack_id];
	leaks_tally(&list->leaked, entry);
	agg->leaked_bytes += entry->bytes;
	agg->leaked_blocks += entry->blocks;
}

/* Releases (free, munmap, a moving realloc) happen at their time before. */
static uint64_t leaks_event_time(const struct mp_event *event)
{
	return event->time_before_ns ? event->time_before_ns : event->time_ns;
}

/* The heap as it was when a check ran while the program went on: the events before its
 * time replayed into a model of their own. */
static int leaks_replay_until(struct mp_analysis *analysis, uint64_t time_ns,
			      struct mp_heap_model *model)
{
	struct mp_trace *trace = analysis->trace;
	struct mp_event event;
	char err[256];
	int rc = mp_heap_model_init(model, mp_trace_stack_count(trace),
				    mp_trace_header(trace)->page_size);
	if (rc)
		return rc;
	mp_trace_rewind(trace);
	while (rc == 0 && mp_trace_next(trace, &event, err, sizeof(err)) == 1 &&
	       leaks_event_time(&event) < time_ns)
		rc = mp_heap_model_feed(model, &event);
	return rc;
}

/* Adds the live blocks of `blocks` by their kind. A check at exit (or as the process
 * died) lists what it found, and a block allocated after it is "unknown"; a check while
 * the program ran lists exactly its blocks (only_listed): one allocated or freed at
 * that very moment, its record not yet committed, was not part of it. */
static int leaks_add_blocks(struct mp_leak_list *list, struct leaks_stack *stacks, size_t *cap,
			    const struct mp_live_blocks *blocks, uint32_t stack_count,
			    int only_listed)
{
	int rc = 0;
	size_t span = mp_live_blocks_span(blocks);
	for (size_t i = 0; i < span && rc == 0; i++) {
		struct mp_live_block block;
		if (!mp_live_blocks_at(blocks, i, &block))
			continue;
		unsigned kind = mp_leak_kinds_lookup(&list->kinds, block.addr);
		if (only_listed && kind == MP_LEAK_KIND_UNKNOWN)
			continue;
		uint32_t id = block.stack_id < stack_count ? block.stack_id : 0;
		rc = leaks_add(list, &stacks[id], cap, id, kind, block.size);
	}
	return rc;
}

int mp_leaks_compute(struct mp_analysis *analysis, const struct mp_suppressions *supp,
		     size_t check, struct mp_leak_list *list)
{
	uint32_t stack_count = mp_stack_stats_count(&analysis->model.stacks);
	struct leaks_stack *stacks = NULL;
	size_t cap = 0;
	int rc;

	memset(list, 0, sizeof(*list));
	list->supp = supp;
	list->header = mp_trace_header(analysis->trace);
	for (uint32_t id = 0; id < stack_count; id++) {
		analysis->model.stacks.aggs[id].leaked_bytes = 0;
		analysis->model.stacks.aggs[id].leaked_blocks = 0;
	}
	rc = mp_leak_kinds_load(&list->kinds, analysis->trace, check);
	if (rc)
		return rc;
	stacks = calloc(stack_count + 1, sizeof(*stacks));
	list->by_rule = calloc(supp && supp->count ? supp->count : 1, sizeof(*list->by_rule));
	if (!stacks || !list->by_rule) {
		free(stacks);
		return -ENOMEM;
	}
	if (list->kinds.state == MP_LEAK_SCAN_DONE && list->kinds.reason == MP_LEAK_CHECK_SIGNAL) {
		struct mp_heap_model then;
		rc = leaks_replay_until(analysis, list->kinds.time_ns, &then);
		if (rc == 0)
			rc = leaks_add_blocks(list, stacks, &cap, &then.blocks, stack_count, 1);
		mp_heap_model_destroy(&then);
	} else if (list->kinds.state == MP_LEAK_SCAN_DONE) {
		rc = leaks_add_blocks(list, stacks, &cap, &analysis->model.blocks, stack_count, 0);
	} else {
		/* No kinds: one entry per stack with the model's own figures (which a sampled
		 * trace scales), exactly what `leaks` listed before kinds existed. */
		for (uint32_t id = 0; id < stack_count && rc == 0; id++) {
			const struct mp_stack_agg *agg = &analysis->model.stacks.aggs[id];
			if (!agg->live_blocks)
				continue;
			rc = leaks_add(list, &stacks[id], &cap, id, MP_LEAK_KIND_UNKNOWN, 0);
			if (rc == 0) {
				struct mp_leak_entry *entry = &list->entries[list->count - 1];
				entry->bytes = agg->live_bytes;
				entry->blocks = agg->live_blocks;
			}
		}
	}
	for (size_t i = 0; i < list->count && rc == 0; i++) {
		struct mp_leak_entry *entry = &list->entries[i];
		struct leaks_stack *stack = &stacks[entry->stack_id];
		if (!stack->rule_plus_2) /* symbolize each stack once, whatever its kinds */
			stack->rule_plus_2 = leaks_rule_of(analysis, supp, entry->stack_id) + 2;
		entry->rule = stack->rule_plus_2 - 2;
		if (entry->rule >= 0) {
			leaks_tally(&list->suppressed, entry);
			leaks_tally(&list->by_rule[entry->rule], entry);
		} else {
			leaks_tally(&list->by_kind[entry->kind], entry);
			if (MP_LEAK_LOST_KINDS & (1u << entry->kind))
				leaks_leaked(list, analysis, entry);
		}
	}
	free(stacks);
	if (list->count)
		qsort(list->entries, list->count, sizeof(*list->entries), leaks_compare);
	return rc;
}

void mp_leaks_free(struct mp_leak_list *list)
{
	mp_leak_kinds_free(&list->kinds);
	free(list->entries);
	free(list->by_rule);
	memset(list, 0, sizeof(*list));
}

int mp_leaks_any(const struct mp_leak_list *list, unsigned kinds)
{
	for (unsigned kind = 0; kind < MP_LEAK_KINDS; kind++)
		if ((kinds & (1u << kind)) && list->by_kind[kind].blocks)
			return 1;
	return 0;
}
