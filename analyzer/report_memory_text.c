/* report_memory_text.c: the `memprof memory` text report and its plain-language verdict.
 *
 * Terms follow top(1) and proc(5): VIRT is the address space mapped (VmSize), RSS the
 * bytes of it in RAM (VmRSS), PSS the RSS with each shared page divided among the
 * processes mapping it, swap the anonymous pages written out to swap. Committed bytes are
 * what the program asked for; with overcommit, untouched pages of them use no RAM.
 * Accessed bytes are the resident ones read or written in the interval before the
 * snapshot (MEMPROF_SNAPSHOT_ACCESS=1); the rest of the resident ones are cold: in RAM
 * but unused in that interval.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report_memory.h"
#include "text_format.h"
#include "text_stack.h"

const char *mp_memory_bytes(char *buf, size_t len, uint64_t value)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	if (value < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", value);
		return buf;
	}
	double scaled = (double)value / 1024.0;
	int unit = 0;
	while (scaled >= 1024.0 && unit < 3) {
		scaled /= 1024.0;
		unit++;
	}
	snprintf(buf, len, "%.1f %s", scaled, units[unit]);
	return buf;
}

static unsigned memory_percent(uint64_t part, uint64_t whole)
{
	return whole ? (unsigned)((part * 100 + whole / 2) / whole) : 0;
}

/* The innermost frame of the stack as "function (file:line)", or its label. */
static void memory_stack_label(struct mp_memory_report *report, uint32_t stack_id, char *out,
			       size_t len)
{
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	char label[256];
	int count = mp_analysis_frames(&report->analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	if (count <= 0) {
		snprintf(out, len, "[no stack]");
		return;
	}
	const char *name = mp_frame_label(&frames[0], label, sizeof(label));
	const char *file = frames[0].file ? strrchr(frames[0].file, '/') : NULL;
	if (frames[0].file && frames[0].line)
		snprintf(out, len, "%s (%s:%u)", name, file ? file + 1 : frames[0].file,
			 frames[0].line);
	else
		snprintf(out, len, "%s", name);
}

/* The first sentence: RSS and VIRT as the snapshot's smaps sum them, at that moment (the
 * Process line's peaks come from other counters, see text_context), and their shares. */
static int verdict_shares(const struct mp_memory_result *r, const char *reason, char *line,
			  size_t len)
{
	char rss[32], virt[32];
	const struct mp_memory_kind_totals *kinds = r->kinds;
	uint64_t file = kinds[MP_MEMK_FILE].rss - kinds[MP_MEMK_FILE].memprof_rss;
	int at = snprintf(line, len, "RSS %s of VIRT %s at the %s snapshot: %u%% of RSS is heap "
			  "(malloc's memory)", mp_memory_bytes(rss, sizeof(rss), r->rss),
			  mp_memory_bytes(virt, sizeof(virt), r->virt), reason,
			  memory_percent(r->heap_rss, r->rss));
	at += snprintf(line + at, len - (size_t)at, ", %u%% file-backed (code, data, page cache)",
		       memory_percent(file, r->rss));
	if (r->anon_program_rss)
		at += snprintf(line + at, len - (size_t)at,
			       ", %u%% anonymous memory the program mapped itself (mmap, brk)",
			       memory_percent(r->anon_program_rss, r->rss));
	if (r->stack_rss)
		at += snprintf(line + at, len - (size_t)at, ", %u%% thread stacks",
			       memory_percent(r->stack_rss, r->rss));
	if (kinds[MP_MEMK_SHARED].rss)
		at += snprintf(line + at, len - (size_t)at, ", %u%% shared memory",
			       memory_percent(kinds[MP_MEMK_SHARED].rss, r->rss));
	snprintf(line + at, len - (size_t)at, ".");
	return 1;
}

/* How far this snapshot's RSS is from the process's peak RSS (VmHWM). */
static int verdict_peak(const struct mp_memory_report *report, char *line, size_t len)
{
	const struct mp_memory_peak *peak = &report->peak;
	char a[32], b[32];
	if (!peak->hwm)
		return 0;
	if (peak->snapshot_rss >= peak->hwm) {
		snprintf(line, len, "This snapshot is at the process's peak RSS (VmHWM %s).",
			 mp_memory_bytes(a, sizeof(a), peak->hwm));
		return 1;
	}
	uint64_t below = peak->hwm - peak->snapshot_rss;
	int at = snprintf(line, len, "RSS here is %s (%u%%) below the process's peak RSS of %s "
			  "(VmHWM at the %s snapshot)", mp_memory_bytes(a, sizeof(a), below),
			  memory_percent(below, peak->hwm), mp_memory_bytes(b, sizeof(b), peak->hwm),
			  mp_memory_reason_name(report->snapshots.items[peak->hwm_snapshot].reason));
	if (report->selected != peak->nearest)
		at += snprintf(line + at, len - (size_t)at, "; --snapshot peak shows snapshot %zu, "
			       "the nearest to it", peak->nearest + 1);
	snprintf(line + at, len - (size_t)at, ".");
	return 1;
}

/* A snapshot is no stop of the world: status is read before smaps, and a process that
 * maps or frees much meanwhile shows a VmRSS its mappings do not. */
static int verdict_moving(const struct mp_memory_report *report, char *line, size_t len)
{
	const struct mp_memory_result *r = &report->result;
	uint64_t vm_rss, margin = r->rss / 10 > (4u << 20) ? r->rss / 10 : (4u << 20);
	char a[32], b[32];
	if (!mp_snapshot_context(mp_memory_snapshot(report), MP_SNAPK_VM_RSS, &vm_rss) ||
	    (vm_rss > r->rss ? vm_rss - r->rss : r->rss - vm_rss) <= margin)
		return 0;
	snprintf(line, len, "The process's memory changed while this snapshot was taken: VmRSS, "
		 "read just before smaps, was %s; its mappings sum %s.",
		 mp_memory_bytes(a, sizeof(a), vm_rss), mp_memory_bytes(b, sizeof(b), r->rss));
	return 1;
}

/* The seconds between the snapshot and the clear of the referenced bits before it. */
static double access_interval_s(const struct mp_memory_report *report)
{
	const struct mp_memory_point *point = &report->timeline[report->selected];
	return point->time_ns > point->access_since_ns
		       ? (double)(point->time_ns - point->access_since_ns) / 1e9 : 0.0;
}

static int verdict_access(const struct mp_memory_report *report, char *line, size_t len)
{
	const struct mp_memory_result *r = &report->result;
	char a[32], b[32], c[32];
	if (!r->has_access)
		return 0;
	snprintf(line, len, "Accessed in the %.3f s before this snapshot: %s of %s resident (%u%%); "
		 "%s was not touched in that interval (cold: in RAM but unused, candidates for "
		 "freeing, madvise(MADV_COLD or MADV_PAGEOUT) or swap).", access_interval_s(report),
		 mp_memory_bytes(a, sizeof(a), r->accessed), mp_memory_bytes(b, sizeof(b), r->access_rss),
		 memory_percent(r->accessed, r->access_rss),
		 mp_memory_bytes(c, sizeof(c), r->access_rss - r->accessed));
	return 1;
}

/* The stack with the most resident bytes that were surely not accessed. */
static int verdict_cold_stack(struct mp_memory_report *report, char *line, size_t len)
{
	const struct mp_memory_result *r = &report->result;
	const struct mp_memory_stack *coldest = NULL;
	char a[32], b[32], c[32], label[256];
	if (!r->has_access)
		return 0;
	for (size_t i = 0; i < r->stack_count; i++) {
		const struct mp_memory_stack *row = &r->stacks[i];
		if (row->resident > row->accessed_max &&
		    (!coldest || row->resident - row->accessed_max >
					 coldest->resident - coldest->accessed_max))
			coldest = row;
	}
	if (!coldest)
		return 0;
	memory_stack_label(report, coldest->stack_id, label, sizeof(label));
	if (coldest->accessed_exact)
		snprintf(line, len, "Stack %s holds %s resident of which %s was accessed and %s is "
			 "cold (%s).", label, mp_memory_bytes(a, sizeof(a), coldest->resident),
			 mp_memory_bytes(b, sizeof(b), coldest->accessed_max),
			 mp_memory_bytes(c, sizeof(c), coldest->resident - coldest->accessed_max),
			 mp_memory_source_name(coldest->source));
	else
		snprintf(line, len, "Stack %s holds %s resident of which at least %s is cold (%s; "
			 "its mappings hold other memory too, and access is known per mapping).",
			 label, mp_memory_bytes(a, sizeof(a), coldest->resident),
			 mp_memory_bytes(b, sizeof(b), coldest->resident - coldest->accessed_max),
			 mp_memory_source_name(coldest->source));
	return 1;
}

int mp_memory_verdict(struct mp_memory_report *report, char lines[][512], int max)
{
	const struct mp_memory_result *r = &report->result;
	char a[32], b[32], c[32], label[400];
	int count = 0;
	if (count < max)
		count += verdict_shares(r, mp_memory_reason_name(mp_memory_snapshot(report)->reason),
					lines[count], 512);
	if (count < max)
		count += verdict_moving(report, lines[count], 512);
	if (count < max)
		count += verdict_peak(report, lines[count], 512);
	if (!r->has_residency && count < max)
		snprintf(lines[count++], 512, "The snapshot has no page states, so resident "
					      "bytes per stack are unknown.");
	if (r->stack_count && r->stacks[0].committed > r->stacks[0].resident && count < max) {
		const struct mp_memory_stack *top = &r->stacks[0];
		memory_stack_label(report, top->stack_id, label, sizeof(label));
		int at = snprintf(lines[count], 512, "Call stack %s committed %s of which %s is resident",
				  label, mp_memory_bytes(a, sizeof(a), top->committed),
				  mp_memory_bytes(b, sizeof(b), top->resident));
		if (top->swapped)
			at += snprintf(lines[count] + at, 512 - (size_t)at, " and %s swapped",
				       mp_memory_bytes(c, sizeof(c), top->swapped));
		snprintf(lines[count++] + at, 512 - (size_t)at, " (%s; the rest was never touched).",
			 mp_memory_source_name(top->source));
	}
	if (r->heap_rss && count < max)
		snprintf(lines[count++], 512, "malloc holds %s of resident memory that no live block "
			 "uses (%u%% of its %s: free memory in its arenas and per-block overhead, "
			 "i.e. fragmentation).", mp_memory_bytes(a, sizeof(a), r->heap_unexplained),
			 memory_percent(r->heap_unexplained, r->heap_rss),
			 mp_memory_bytes(b, sizeof(b), r->heap_rss));
	if (r->anon_unexplained && count < max)
		snprintf(lines[count++], 512, "%s of anonymous RSS is explained by no recorded call "
			 "(mapped by the loader, libc or raw system calls; cached thread stacks).",
			 mp_memory_bytes(a, sizeof(a), r->anon_unexplained));
	if (count < max)
		count += verdict_access(report, lines[count], 512);
	if (count < max)
		count += verdict_cold_stack(report, lines[count], 512);
	if (r->swap && count < max)
		snprintf(lines[count++], 512, "%s is swapped out.", mp_memory_bytes(a, sizeof(a), r->swap));
	if (r->memprof_rss && count < max)
		snprintf(lines[count++], 512, "memprof itself holds %s of the RSS (its trace "
			 "buffers and tables), not counted against the program above.",
			 mp_memory_bytes(a, sizeof(a), r->memprof_rss));
	return count;
}

/* The process context. VmHWM can be below the verdict's RSS of the same snapshot: the
 * library reads /proc/self/status before it walks smaps (which takes a while, and
 * touches its own buffers), and the kernel's RSS counter behind VmHWM may trail the page
 * tables that smaps sums by a few pages. So the line says where its peaks come from. */
/* The process's RSS peak from the kernel's high-water mark and from the RSS watch. */
static void text_peak(FILE *out, const struct mp_memory_report *report)
{
	const struct mp_memory_peak *peak = &report->peak;
	char a[32], b[32], c[32];
	if (peak->hwm) {
		uint64_t below = peak->hwm > peak->snapshot_rss ? peak->hwm - peak->snapshot_rss : 0;
		fprintf(out, "RSS peak:     VmHWM %s at the %s snapshot (%zu); this snapshot's RSS %s "
			"is %s (%u%%) below it\n", mp_memory_bytes(a, sizeof(a), peak->hwm),
			mp_memory_reason_name(report->snapshots.items[peak->hwm_snapshot].reason),
			peak->hwm_snapshot + 1, mp_memory_bytes(b, sizeof(b), peak->snapshot_rss),
			mp_memory_bytes(c, sizeof(c), below), memory_percent(below, peak->hwm));
	}
	if (peak->watched)
		fprintf(out, "RSS watch:    every %u ms, highest %s at %.6f s (%zu samples kept)\n",
			report->rss.period_ms, mp_memory_bytes(a, sizeof(a), peak->watched_rss),
			(double)peak->watched_time_ns / 1e9, report->rss.count);
	else
		fprintf(out, "RSS watch:    off (MEMPROF_RSS_WATCH=0, or a trace from an older memprof)\n");
}

static void text_context(FILE *out, const struct mp_memory_report *report)
{
	const struct mp_snapshot *snapshot = mp_memory_snapshot(report);
	static const char *const overcommit[] = { "heuristic", "always", "never" };
	static const char *const thp[] = { "always", "madvise", "never" };
	char a[32], b[32];
	uint64_t value, other;
	if (mp_snapshot_context(snapshot, MP_SNAPK_VM_HWM, &value) &&
	    mp_snapshot_context(snapshot, MP_SNAPK_VM_PEAK, &other))
		fprintf(out, "Process:      peak RSS (VmHWM) %s, peak VIRT (VmPeak) %s: high-water "
			"marks up to the %s snapshot,\n              from the kernel's counters read "
			"just before smaps (whose sum, the RSS above, can exceed them)\n",
			mp_memory_bytes(a, sizeof(a), value), mp_memory_bytes(b, sizeof(b), other),
			mp_memory_reason_name(snapshot->reason));
	text_peak(out, report);
	if (mp_snapshot_context(snapshot, MP_SNAPK_OOM_SCORE, &value) &&
	    mp_snapshot_context(snapshot, MP_SNAPK_OOM_SCORE_ADJ, &other))
		fprintf(out, "OOM killer:   oom_score %" PRIu64 ", oom_score_adj %" PRId64 "\n", value,
			(int64_t)(other >> 1) ^ -(int64_t)(other & 1));
	if (mp_snapshot_context(snapshot, MP_SNAPK_CGROUP_CURRENT, &value)) {
		fprintf(out, "cgroup:       memory.current %s for the whole cgroup (every process "
			     "in it, page cache included), limit ", mp_memory_bytes(a, sizeof(a), value));
		if (mp_snapshot_context(snapshot, MP_SNAPK_CGROUP_MAX, &other))
			fprintf(out, "%s\n", mp_memory_bytes(b, sizeof(b), other));
		else
			fprintf(out, "none\n");
	}
	if (mp_snapshot_context(snapshot, MP_SNAPK_OVERCOMMIT, &value) && value < 3) {
		fprintf(out, "Overcommit:   %s (vm.overcommit_memory=%" PRIu64 ")", overcommit[value],
			value);
		if (mp_snapshot_context(snapshot, MP_SNAPK_COMMIT_LIMIT, &value) &&
		    mp_snapshot_context(snapshot, MP_SNAPK_COMMITTED_AS, &other))
			fprintf(out, ", CommitLimit %s, Committed_AS %s (system-wide)",
				mp_memory_bytes(a, sizeof(a), value), mp_memory_bytes(b, sizeof(b), other));
		fputc('\n', out);
	}
	if (mp_snapshot_context(snapshot, MP_SNAPK_THP_MODE, &value) && value < 3)
		fprintf(out, "THP:          %s\n", thp[value]);
}

static void text_kinds(FILE *out, const struct mp_memory_result *r)
{
	char cells[6][32];
	fprintf(out, "\nMappings by kind      VIRT         RSS         PSS        swap         THP  mappings\n");
	for (int k = 0; k < MP_MEMK_COUNT; k++) {
		const struct mp_memory_kind_totals *kind = &r->kinds[k];
		if (!kind->mappings)
			continue;
		fprintf(out, "  %-8s %11s %11s %11s %11s %11s  %8" PRIu64 "\n",
			mp_memory_kind_name((enum mp_memory_kind)k),
			mp_memory_bytes(cells[0], 32, kind->size), mp_memory_bytes(cells[1], 32, kind->rss),
			mp_memory_bytes(cells[2], 32, kind->pss), mp_memory_bytes(cells[3], 32, kind->swap),
			mp_memory_bytes(cells[4], 32, kind->thp), kind->mappings);
	}
	fprintf(out, "  %-8s %11s %11s %11s %11s\n", "total", mp_memory_bytes(cells[0], 32, r->virt),
		mp_memory_bytes(cells[1], 32, r->rss), mp_memory_bytes(cells[2], 32, r->pss),
		mp_memory_bytes(cells[3], 32, r->swap));
	fprintf(out, "  file RSS: %s code and data of loaded objects, %s other mapped files (page cache)\n",
		mp_memory_bytes(cells[0], 32, r->kinds[MP_MEMK_FILE].code_rss),
		mp_memory_bytes(cells[1], 32, r->kinds[MP_MEMK_FILE].mmap_rss));
	fprintf(out, "\nHeap:         live blocks %s committed, %s resident, %s swapped (%" PRIu64
		     " %s)\n", mp_memory_bytes(cells[0], 32, r->heap_live_bytes),
		mp_memory_bytes(cells[1], 32, r->heap_live_resident),
		mp_memory_bytes(cells[2], 32, r->heap_live_swapped), r->heap_live_blocks,
		r->heap_live_blocks == 1 ? "block" : "blocks");
	fprintf(out, "              malloc's regions %s RSS, of which %s in no live block "
		     "(allocator overhead and fragmentation)\n", mp_memory_bytes(cells[0], 32, r->heap_rss),
		mp_memory_bytes(cells[1], 32, r->heap_unexplained));
	fprintf(out, "Unexplained:  %s of anonymous RSS no recorded call explains\n",
		mp_memory_bytes(cells[0], 32, r->anon_unexplained));
	fprintf(out, "memprof:      %s of RSS is the profiler's own\n",
		mp_memory_bytes(cells[0], 32, r->memprof_rss));
}

/* Per kind: RSS accessed in the interval, and cold. */
static void text_access(FILE *out, const struct mp_memory_report *report)
{
	const struct mp_memory_result *r = &report->result;
	char cells[3][32];
	if (!r->has_access)
		return;
	fprintf(out, "\nAccess in the %.3f s before the snapshot (referenced bits, per mapping; "
		"memprof's own mappings left out)\n                       RSS    accessed        cold\n",
		access_interval_s(report));
	for (int k = 0; k < MP_MEMK_COUNT; k++) {
		const struct mp_memory_kind_totals *kind = &r->kinds[k];
		if (!kind->mappings)
			continue;
		fprintf(out, "  %-8s %11s %11s %11s\n", mp_memory_kind_name((enum mp_memory_kind)k),
			mp_memory_bytes(cells[0], 32, kind->access_rss),
			mp_memory_bytes(cells[1], 32, kind->accessed),
			mp_memory_bytes(cells[2], 32, kind->access_rss - kind->accessed));
	}
	fprintf(out, "  %-8s %11s %11s %11s\n", "total", mp_memory_bytes(cells[0], 32, r->access_rss),
		mp_memory_bytes(cells[1], 32, r->accessed),
		mp_memory_bytes(cells[2], 32, r->access_rss - r->accessed));
}

/* A stack's accessed and cold bytes, when measured. */
static void text_stack_access(FILE *out, const struct mp_memory_stack *row)
{
	char cells[4][32];
	if (row->accessed_exact)
		fprintf(out, " accessed %s, cold %s\n", mp_memory_bytes(cells[0], 32, row->accessed_max),
			mp_memory_bytes(cells[1], 32, row->resident - row->accessed_max));
	else
		fprintf(out, " accessed %s to %s, cold %s to %s (its mappings hold other memory: "
			"access is known per mapping)\n", mp_memory_bytes(cells[0], 32, row->accessed_min),
			mp_memory_bytes(cells[1], 32, row->accessed_max),
			mp_memory_bytes(cells[2], 32, row->resident - row->accessed_max),
			mp_memory_bytes(cells[3], 32, row->resident - row->accessed_min));
}

/* The call stacks, largest gap first, at most opts->top of them, each printed whole
 * (every frame shown, inlined ones marked) as every other report prints them. */
static void text_stacks(FILE *out, struct mp_memory_report *report,
			const struct mp_report_options *opts)
{
	const struct mp_memory_result *r = &report->result;
	char cells[4][32], more[96];
	size_t shown = opts->top && opts->top < r->stack_count ? opts->top : r->stack_count;
	fprintf(out, "\nCall stacks by gap (committed - resident), %zu of %zu%s%s\n", shown,
		r->stack_count, shown < r->stack_count ? " " : "",
		mp_fmt_more(more, sizeof(more), shown, r->stack_count));
	for (size_t i = 0; i < shown; i++) {
		const struct mp_memory_stack *row = &r->stacks[i];
		fprintf(out, "\n%s committed, %s resident, %s swapped, gap %s; %" PRIu64 " %s by %s%s",
			mp_memory_bytes(cells[0], 32, row->committed),
			mp_memory_bytes(cells[1], 32, row->resident),
			mp_memory_bytes(cells[2], 32, row->swapped),
			mp_memory_bytes(cells[3], 32, row->committed - row->resident), row->blocks,
			row->source == MP_SOURCE_MALLOC ? (row->blocks == 1 ? "block" : "blocks")
							: (row->blocks == 1 ? "region" : "regions"),
			mp_memory_source_name(row->source), r->has_access ? ";" : "\n");
		if (r->has_access)
			text_stack_access(out, row);
		mp_text_stack_print(out, &report->analysis, row->stack_id, "    ", opts->long_names);
	}
}

static void text_timeline(FILE *out, const struct mp_memory_report *report)
{
	char a[32], b[32];
	fprintf(out, "\nTimeline (RSS against live heap)\n");
	for (size_t i = 0; i < report->snapshots.count; i++) {
		const struct mp_memory_point *point = &report->timeline[i];
		fprintf(out, "  %c%3zu %10.6f s  %-9s  RSS %11s  heap live %11s\n",
			i == report->selected ? '*' : ' ', i + 1, (double)point->time_ns / 1e9,
			mp_memory_reason_name(point->reason), mp_memory_bytes(a, sizeof(a), point->rss),
			mp_memory_bytes(b, sizeof(b), point->heap_live_bytes));
	}
}

void mp_memory_text(FILE *out, struct mp_memory_report *report,
		    const struct mp_report_options *opts)
{
	char lines[MP_MEMORY_VERDICT_LINES][512];
	const struct mp_memory_point *point = &report->timeline[report->selected];
	const struct mp_snapshot *snapshot = mp_memory_snapshot(report);
	fprintf(out, "memprof memory for '%s': snapshot %zu of %zu (%s) at %.6f s%s\n\n",
		report->analysis.path, report->selected + 1, report->snapshots.count,
		mp_memory_reason_name(point->reason), (double)point->time_ns / 1e9,
		snapshot->complete ? "" : " (INCOMPLETE: cut short while it was taken)");
	int count = mp_memory_verdict(report, lines, MP_MEMORY_VERDICT_LINES);
	for (int i = 0; i < count; i++)
		fprintf(out, "  %s\n", lines[i]);
	fputc('\n', out);
	text_context(out, report);
	text_kinds(out, &report->result);
	text_access(out, report);
	text_stacks(out, report, opts);
	text_timeline(out, report);
}
