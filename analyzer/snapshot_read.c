/* snapshot_read.c: decoding the memory snapshot records (66-69) of a trace. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/varint.h"
#include "snapshot_read.h"
#include "trace_read.h"

#define SNAP_MAX_PAGE (1ull << 30)

/* Grows *items (of `size` bytes each) to hold one more; 0 or -ENOMEM. */
static int snap_grow(void **items, size_t *cap, size_t count, size_t size)
{
	if (count < *cap)
		return 0;
	size_t new_cap = *cap ? *cap * 2 : 16;
	void *grown = realloc(*items, new_cap * size);
	if (!grown)
		return -ENOMEM;
	*items = grown;
	*cap = new_cap;
	return 0;
}

/* The snapshot with `seq`, created if new; NULL on -ENOMEM. */
static struct mp_snapshot *snap_find(struct mp_snapshot_table *table, uint64_t seq)
{
	for (size_t i = table->count; i-- > 0;)
		if (table->items[i].seq == seq)
			return &table->items[i];
	if (snap_grow((void **)&table->items, &table->cap, table->count, sizeof(*table->items)))
		return NULL;
	struct mp_snapshot *snapshot = &table->items[table->count++];
	memset(snapshot, 0, sizeof(*snapshot));
	snapshot->seq = (uint32_t)seq;
	return snapshot;
}

/* Reads "u count, count times (u key, u value)"; keys at or above `limit` are skipped.
 * Sets bit k of *known when known is not NULL. */
static int snap_pairs(const uint8_t **p, const uint8_t *end, uint64_t *values, unsigned limit,
		      uint32_t *known)
{
	uint64_t count, key, value;
	if (mp_get_u(p, end, &count) || count > (uint64_t)(end - *p))
		return -EINVAL;
	for (uint64_t i = 0; i < count; i++) {
		if (mp_get_u(p, end, &key) || mp_get_u(p, end, &value))
			return -EINVAL;
		if (key < limit) {
			values[key] = value;
			if (known)
				*known |= 1u << key;
		}
	}
	return 0;
}

static int snap_begin(struct mp_snapshot_table *table, const uint8_t *p, const uint8_t *end)
{
	uint64_t seq, reason, time_ns, page_size, values[MP_SNAP_CONTEXT_KEYS] = { 0 };
	uint32_t known = 0;
	if (mp_get_u(&p, end, &seq) || mp_get_u(&p, end, &reason) ||
	    mp_get_u(&p, end, &time_ns) || mp_get_u(&p, end, &page_size) ||
	    seq > UINT32_MAX || reason > UINT32_MAX || page_size == 0 ||
	    page_size > SNAP_MAX_PAGE || (page_size & (page_size - 1)) ||
	    snap_pairs(&p, end, values, MP_SNAP_CONTEXT_KEYS, &known))
		return -EINVAL;
	struct mp_snapshot *snapshot = snap_find(table, seq);
	if (!snapshot)
		return -ENOMEM;
	snapshot->begun = 1;
	snapshot->reason = (uint32_t)reason;
	snapshot->time_ns = time_ns;
	snapshot->page_size = page_size;
	memcpy(snapshot->context, values, sizeof(values));
	snapshot->context_known = known;
	return 0;
}

/* Reads the own parts of a mapping into the snapshot; the mapping gets their indexes. */
static int snap_own_parts(struct mp_snapshot *snapshot, struct mp_snap_mapping *mapping,
			  const uint8_t **p, const uint8_t *end)
{
	uint64_t count, offset, length;
	if (mp_get_u(p, end, &count) || count > (uint64_t)(end - *p))
		return -EINVAL;
	mapping->own_first = snapshot->own_count;
	for (uint64_t i = 0; i < count; i++) {
		if (mp_get_u(p, end, &offset) || mp_get_u(p, end, &length) ||
		    offset > mapping->end - mapping->start ||
		    length > mapping->end - mapping->start - offset)
			return -EINVAL;
		if (snap_grow((void **)&snapshot->own, &snapshot->own_cap, snapshot->own_count,
			      sizeof(*snapshot->own)))
			return -ENOMEM;
		snapshot->own[snapshot->own_count++] = (struct mp_snap_range){
			mapping->start + offset, mapping->start + offset + length };
	}
	mapping->own_count = snapshot->own_count - mapping->own_first;
	return 0;
}

static int snap_mapping(struct mp_snapshot_table *table, const uint8_t *p, const uint8_t *end)
{
	struct mp_snap_mapping mapping = { 0 };
	uint64_t seq, length, perms, kind, path_len;
	if (mp_get_u(&p, end, &seq) || mp_get_u(&p, end, &mapping.start) ||
	    mp_get_u(&p, end, &length) || mp_get_u(&p, end, &perms) ||
	    mp_get_u(&p, end, &mapping.offset) || mp_get_u(&p, end, &kind) ||
	    mp_get_u(&p, end, &path_len) || path_len > (uint64_t)(end - p) ||
	    seq > UINT32_MAX || perms > UINT32_MAX || kind > UINT32_MAX ||
	    mapping.start + length < mapping.start)
		return -EINVAL;
	const uint8_t *path = p;
	p += path_len;
	mapping.end = mapping.start + length;
	mapping.perms = (uint32_t)perms;
	mapping.kind = (uint32_t)kind;
	struct mp_snapshot *snapshot = snap_find(table, seq);
	if (!snapshot)
		return -ENOMEM;
	size_t own_before = snapshot->own_count;
	int rc = snap_own_parts(snapshot, &mapping, &p, end);
	if (rc == 0)
		rc = snap_pairs(&p, end, mapping.figures, MP_SNAP_SMAPS_KEYS, NULL);
	if (rc == 0)
		rc = snap_grow((void **)&snapshot->mappings, &snapshot->mapping_cap,
			       snapshot->mapping_count, sizeof(*snapshot->mappings));
	if (rc == 0 && !(mapping.path = malloc(path_len + 1)))
		rc = -ENOMEM;
	if (rc < 0) {
		snapshot->own_count = own_before;
		return rc;
	}
	memcpy(mapping.path, path, path_len);
	mapping.path[path_len] = '\0';
	/* A NUL inside the path ends it, as a C string would. */
	snapshot->mappings[snapshot->mapping_count++] = mapping;
	return 0;
}

/* Until finish knows the page size, a record's runs are kept as (record start, page
 * offset of the run in `end`, state), followed by a terminator (state UINT32_MAX) whose
 * `end` is the record's page count, so each run's length is the next offset minus its
 * own. */
static int snap_push_run(struct mp_snapshot *snapshot, uint64_t start, uint64_t offset,
			 uint32_t state)
{
	if (snap_grow((void **)&snapshot->runs, &snapshot->run_cap, snapshot->run_count,
		      sizeof(*snapshot->runs)))
		return -ENOMEM;
	snapshot->runs[snapshot->run_count++] = (struct mp_snap_run){ start, offset, state };
	return 0;
}

static int snap_residency(struct mp_snapshot_table *table, const uint8_t *p, const uint8_t *end)
{
	uint64_t seq, start, run_count, run;
	if (mp_get_u(&p, end, &seq) || mp_get_u(&p, end, &start) ||
	    mp_get_u(&p, end, &run_count) || seq > UINT32_MAX ||
	    run_count > (uint64_t)(end - p))
		return -EINVAL;
	struct mp_snapshot *snapshot = snap_find(table, seq);
	if (!snapshot)
		return -ENOMEM;
	size_t before = snapshot->run_count;
	uint64_t pages = 0;
	int rc = 0;
	for (uint64_t i = 0; rc == 0 && i < run_count; i++) {
		if (mp_get_u(&p, end, &run) || (run & 3) > MP_PAGE_SWAPPED || run >> 2 == 0 ||
		    pages + (run >> 2) < pages)
			rc = -EINVAL;
		else
			rc = snap_push_run(snapshot, start, pages, (uint32_t)(run & 3));
		pages += run >> 2;
	}
	if (rc == 0)
		rc = snap_push_run(snapshot, start, pages, UINT32_MAX);
	if (rc < 0)
		snapshot->run_count = before;
	return rc;
}

static int snap_end(struct mp_snapshot_table *table, const uint8_t *p, const uint8_t *end)
{
	uint64_t seq, end_time, mappings, records, cost, smaps_errno = 0;
	if (mp_get_u(&p, end, &seq) || mp_get_u(&p, end, &end_time) ||
	    mp_get_u(&p, end, &mappings) || mp_get_u(&p, end, &records) ||
	    mp_get_u(&p, end, &cost) || seq > UINT32_MAX)
		return -EINVAL;
	/* Older writers end the record here. */
	if (p < end && (mp_get_u(&p, end, &smaps_errno) || smaps_errno > 4095))
		return -EINVAL;
	struct mp_snapshot *snapshot = snap_find(table, seq);
	if (!snapshot)
		return -ENOMEM;
	snapshot->complete = 1;
	snapshot->end_time_ns = end_time;
	snapshot->cost_ns = cost;
	snapshot->smaps_errno = (int)smaps_errno;
	return 0;
}

int mp_snapshots_add(struct mp_snapshot_table *table, unsigned tag, const uint8_t *body,
		     const uint8_t *end)
{
	switch (tag) {
	case MP_REC_SNAPSHOT:
		return snap_begin(table, body, end);
	case MP_REC_MAPPING:
		return snap_mapping(table, body, end);
	case MP_REC_RESIDENCY:
		return snap_residency(table, body, end);
	case MP_REC_SNAPSHOT_END:
		return snap_end(table, body, end);
	default:
		return 0;
	}
}

/* Turns the decoded runs (record start, page offset; a terminator per record) into
 * address ranges. Runs that would pass the end of the address space are dropped. */
static void snap_runs_to_ranges(struct mp_snapshot *snapshot)
{
	size_t out = 0, i = 0;
	uint64_t page = snapshot->page_size;
	while (i < snapshot->run_count) {
		size_t last = i;
		while (last < snapshot->run_count && snapshot->runs[last].state != UINT32_MAX)
			last++;
		if (last == snapshot->run_count)
			break; /* cannot happen: every record ends with a terminator */
		for (size_t k = i; k < last; k++) {
			uint64_t from = snapshot->runs[k].end, to = snapshot->runs[k + 1].end;
			uint64_t base = snapshot->runs[k].start;
			if (to > (UINT64_MAX - base) / page)
				continue;
			snapshot->runs[out++] = (struct mp_snap_run){
				base + from * page, base + to * page, snapshot->runs[k].state };
		}
		i = last + 1;
	}
	snapshot->run_count = out;
}

static int snap_cmp_run(const void *left, const void *right)
{
	const struct mp_snap_run *a = left, *b = right;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int snap_cmp_mapping(const void *left, const void *right)
{
	const struct mp_snap_mapping *a = left, *b = right;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int snap_cmp_time(const void *left, const void *right)
{
	const struct mp_snapshot *a = left, *b = right;
	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sorted, overlaps clipped (the first description of a page wins), equal neighbours
 * merged. */
static void snap_normalize_runs(struct mp_snapshot *snapshot)
{
	if (!snapshot->page_size) {
		snapshot->run_count = 0;
		return;
	}
	snap_runs_to_ranges(snapshot);
	if (snapshot->run_count)
		qsort(snapshot->runs, snapshot->run_count, sizeof(*snapshot->runs), snap_cmp_run);
	size_t out = 0;
	for (size_t i = 0; i < snapshot->run_count; i++) {
		struct mp_snap_run run = snapshot->runs[i];
		if (out && run.start < snapshot->runs[out - 1].end)
			run.start = snapshot->runs[out - 1].end;
		if (run.start >= run.end)
			continue;
		if (out && snapshot->runs[out - 1].end == run.start &&
		    snapshot->runs[out - 1].state == run.state)
			snapshot->runs[out - 1].end = run.end;
		else
			snapshot->runs[out++] = run;
	}
	snapshot->run_count = out;
}

static void snap_free_one(struct mp_snapshot *snapshot)
{
	for (size_t i = 0; i < snapshot->mapping_count; i++)
		free(snapshot->mappings[i].path);
	free(snapshot->mappings);
	free(snapshot->own);
	free(snapshot->runs);
}

int mp_snapshots_finish(struct mp_snapshot_table *table)
{
	size_t out = 0;
	for (size_t i = 0; i < table->count; i++) {
		struct mp_snapshot *snapshot = &table->items[i];
		if (!snapshot->begun) {
			snap_free_one(snapshot);
			continue;
		}
		snap_normalize_runs(snapshot);
		if (snapshot->mapping_count)
			qsort(snapshot->mappings, snapshot->mapping_count,
			      sizeof(*snapshot->mappings), snap_cmp_mapping);
		table->items[out++] = *snapshot;
	}
	table->count = out;
	if (table->count)
		qsort(table->items, table->count, sizeof(*table->items), snap_cmp_time);
	return 0;
}

void mp_snapshots_free(struct mp_snapshot_table *table)
{
	for (size_t i = 0; i < table->count; i++)
		snap_free_one(&table->items[i]);
	free(table->items);
	memset(table, 0, sizeof(*table));
}

int mp_snapshot_context(const struct mp_snapshot *snapshot, enum mp_snapshot_key key,
			uint64_t *value)
{
	if ((unsigned)key >= MP_SNAP_CONTEXT_KEYS || !(snapshot->context_known & (1u << key)))
		return 0;
	*value = snapshot->context[key];
	return 1;
}

int mp_snapshots_load(struct mp_snapshot_table *table, const struct mp_trace *trace,
		      uint64_t *bad_records)
{
	size_t count;
	const struct mp_ext_record *records = mp_trace_ext_records(trace, &count);
	memset(table, 0, sizeof(*table));
	*bad_records = 0;
	for (size_t i = 0; i < count; i++) {
		if (records[i].tag < MP_REC_SNAPSHOT || records[i].tag > MP_REC_SNAPSHOT_END)
			continue;
		int rc = mp_snapshots_add(table, records[i].tag, records[i].body,
					  records[i].body + records[i].len);
		if (rc == -ENOMEM) {
			mp_snapshots_free(table);
			return rc;
		}
		*bad_records += rc < 0;
	}
	return mp_snapshots_finish(table);
}
