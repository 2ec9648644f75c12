/* trace_index.c: the reader's index pass: stacks, modules, the other extended records,
 * and where each chunk's records stop decoding.
 *
 * Events have no length, so finding the STACK and MODULE records means stepping over all
 * of them; large traces are scanned on two threads. The point where a chunk's records
 * stop decoding is remembered, so the merge (trace_merge.c) never meets a bad record.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/varint.h"
#include "trace_private.h"

/* A stack record's frames[0..count): s (ip - prev_ip) each, prev_ip from 0. 0 or -1. */
static int read_frames(const uint8_t *p, const uint8_t *end, uint64_t *frames, uint64_t count)
{
	uint64_t ip = 0;
	for (uint64_t i = 0; i < count; i++) {
		int64_t delta;
		if (mp_get_s(&p, end, &delta))
			return -1;
		ip += (uint64_t)delta;
		frames[i] = ip;
	}
	return 0;
}

static int read_stack_record(struct mp_trace *trace, const uint8_t *p, const uint8_t *end)
{
	uint64_t raw_id, generation, count, frames[MP_MAX_FRAMES_LIMIT];
	if (mp_get_u(&p, end, &raw_id) || mp_get_u(&p, end, &generation) ||
	    mp_get_u(&p, end, &count) || generation > UINT32_MAX || count > MP_MAX_FRAMES_LIMIT ||
	    count > (uint64_t)(end - p) || read_frames(p, end, frames, count))
		return -EINVAL;
	return mp_stacks_add(&trace->stacks, raw_id, (uint32_t)generation, frames, (uint32_t)count);
}

/* What the stack table may hold in all, in frames: a STACK_SHARED record of a few bytes
 * may name hundreds of frames of its parent, so the table is no longer bounded by the
 * bytes of its records. Real traces stay far below (cc1: 258k frames, 0.1 a byte of
 * trace); a forged one that chains records to multiply frames stops here, corrupt,
 * instead of taking the machine's memory. */
static size_t read_frame_budget(const struct mp_trace *trace)
{
	size_t budget = (size_t)32 * trace->size;
	return budget > ((size_t)1 << 22) ? budget : ((size_t)1 << 22);
}

/* A STACK_SHARED record: the frames written, then the outermost `shared` frames of its
 * parent, which the same thread defined earlier in file order. */
static int read_stack_shared_record(struct mp_trace *trace, const uint8_t *p,
				    const uint8_t *end)
{
	uint64_t raw_id, generation, count, parent_id, shared, frames[MP_MAX_FRAMES_LIMIT];
	if (mp_get_u(&p, end, &raw_id) || mp_get_u(&p, end, &generation) ||
	    mp_get_u(&p, end, &count) || mp_get_u(&p, end, &parent_id) ||
	    mp_get_u(&p, end, &shared) || generation > UINT32_MAX ||
	    count > MP_MAX_FRAMES_LIMIT || shared == 0 || shared > count ||
	    count - shared > (uint64_t)(end - p))
		return -EINVAL;
	uint32_t parent = mp_stacks_lookup(&trace->stacks, parent_id);
	if (!parent)
		return -EINVAL;
	const struct mp_canon_stack *canon = &trace->stacks.canon[parent - 1];
	if (shared > canon->frame_count ||
	    trace->stacks.frames_len + count > read_frame_budget(trace))
		return -EINVAL;
	uint64_t own = count - shared;
	if (read_frames(p, end, frames, own))
		return -EINVAL;
	const uint64_t *tail = &trace->stacks.frames[canon->frames_at + canon->frame_count - shared];
	memcpy(&frames[own], tail, shared * sizeof(frames[0]));
	return mp_stacks_add(&trace->stacks, raw_id, (uint32_t)generation, frames, (uint32_t)count);
}

/* Reads "u length, bytes" into *bytes / *len. */
static int read_string(const uint8_t **p, const uint8_t *end, const uint8_t **bytes,
		       uint64_t *len)
{
	if (mp_get_u(p, end, len) || *len > (uint64_t)(end - *p))
		return -1;
	*bytes = *p;
	*p += *len;
	return 0;
}

static int read_module_record(struct mp_trace *trace, const uint8_t *p, const uint8_t *end)
{
	uint64_t generation, length, bias, path_len, id_len;
	int64_t start;
	const uint8_t *path, *build_id;
	if (mp_get_u(&p, end, &generation) || mp_get_s(&p, end, &start) ||
	    mp_get_u(&p, end, &length) || mp_get_u(&p, end, &bias) ||
	    read_string(&p, end, &path, &path_len) || read_string(&p, end, &build_id, &id_len) ||
	    generation > UINT32_MAX || (uint64_t)start + length < (uint64_t)start)
		return -EINVAL;
	/* The path may hold a NUL; it then ends there, as a C string would. */
	const uint8_t *nul = memchr(path, '\0', path_len);
	if (nul)
		path_len = (uint64_t)(nul - path);
	return mp_modules_add(&trace->modules, (uint32_t)generation, (uint64_t)start,
			      (uint64_t)start + length, bias, path, path_len, build_id, id_len);
}

/* Keeps where a record of another kind is, for the modules that read it (leak classes,
 * snapshots); their bodies stay in the mapping. 0 or -ENOMEM. */
static int read_remember(struct mp_trace *trace, unsigned tag, const uint8_t *body,
			 const uint8_t *end, const struct mp_trace_chunk *chunk)
{
	if (trace->ext_count == trace->ext_cap) {
		size_t cap = trace->ext_cap ? trace->ext_cap * 2 : 16;
		void *grown = realloc(trace->ext, cap * sizeof(*trace->ext));
		if (!grown)
			return -ENOMEM;
		trace->ext = grown;
		trace->ext_cap = cap;
	}
	trace->ext[trace->ext_count++] = (struct mp_ext_record){
		.tag = tag, .thread_serial = chunk->serial, .body = body,
		.len = (size_t)(end - body) };
	return 0;
}

/* Decodes one extended record body. -EINVAL if it does not decode, -ENOMEM. */
static int read_extended(struct mp_trace *trace, unsigned tag, const uint8_t *body,
			 const uint8_t *end, const struct mp_trace_chunk *chunk)
{
	if (tag == MP_REC_STACK)
		return read_stack_record(trace, body, end);
	if (tag == MP_REC_STACK_SHARED)
		return read_stack_shared_record(trace, body, end);
	if (tag == MP_REC_MODULE)
		return read_module_record(trace, body, end);
	if (tag == MP_REC_SAMPLES_FREED)
		return mp_freed_add_record(&trace->freed, body, end);
	return read_remember(trace, tag, body, end, chunk);
}

/* The index pass has two halves. The scan steps over every record of a chunk (events
 * have no length, so finding the extended records means decoding all of them) and notes
 * where each extended record is; it touches nothing shared, so chunks are scanned on two
 * threads at once. Then, in file order, the extended records are applied to the tables
 * (stacks, modules, counts), which decides the canonical stack ids and so must not
 * depend on timing. */
struct read_ext_at {
	const uint8_t *record, *body;
	uint64_t len;
	uint64_t events_before; /* events of the chunk before this record */
	int64_t net_before;     /* and their figures for mp_trace_live_hint */
	uint64_t most_before;
	unsigned tag;
};

struct read_scan {
	struct read_ext_at *ext;
	size_t count, cap;
	uint64_t events;
	int64_t net_blocks;       /* the chunk's figures for mp_trace_live_hint */
	uint64_t most_net_blocks;
	const uint8_t *cut;     /* where a record failed to decode; NULL if none did */
	int enomem;
};

static void read_scan_note(struct read_scan *scan, const struct read_ext_at *at)
{
	if (scan->count == scan->cap) {
		size_t cap = scan->cap ? scan->cap * 2 : 16;
		void *grown = realloc(scan->ext, cap * sizeof(*scan->ext));
		if (!grown) {
			scan->enomem = 1;
			return;
		}
		scan->ext = grown;
		scan->cap = cap;
	}
	scan->ext[scan->count++] = *at;
}

/* Counts an event of `tag` in the chunk's excess of blocks created over blocks released.
 * A realloc counts 0: it mostly moves a block, and telling realloc(NULL, n) or
 * realloc(p, 0) apart would mean decoding it; the figure is a hint, not a count. */
static void read_scan_count(struct read_scan *scan, unsigned tag)
{
	if (tag == MP_REC_FREE) {
		scan->net_blocks--;
	} else if (tag >= MP_REC_MALLOC && tag <= MP_REC_PVALLOC) {
		scan->net_blocks++;
		if (scan->net_blocks > 0 && (uint64_t)scan->net_blocks > scan->most_net_blocks)
			scan->most_net_blocks = (uint64_t)scan->net_blocks;
	}
}

/* A chunk's scan under way: the next record at `at`. */
struct read_scan_cursor {
	const struct mp_trace_chunk *chunk;
	struct read_scan *scan;
	const uint8_t *at;
};

/* Steps over the cursor's next record (mp_skip_event accepts what the merge's decoder
 * will), noting an extended one; 0 when the chunk is done: at its end, or at the first
 * record that does not decode (then noted as its cut). */
static inline int read_scan_step(struct read_scan_cursor *cursor)
{
	const uint8_t *end = cursor->chunk->end, *p = cursor->at;
	struct read_scan *scan = cursor->scan;
	if (p >= end || scan->enomem)
		return 0;
	const uint8_t *record = p;
	unsigned tag = *p++;
	if (tag >= MP_REC_EXTENDED) {
		uint64_t len;
		if (mp_get_u(&p, end, &len) || len > (uint64_t)(end - p)) {
			scan->cut = record;
			return 0;
		}
		read_scan_note(scan, &(struct read_ext_at){ record, p, len, scan->events,
							    scan->net_blocks, scan->most_net_blocks,
							    tag });
		p += len;
	} else if (mp_skip_event(&p, end, tag) == 0) {
		scan->events++;
		read_scan_count(scan, tag);
	} else {
		scan->cut = record;
		return 0;
	}
	cursor->at = p;
	return 1;
}

/* read_scan_step for the records of nearly every trace: an allocation or a free that ends
 * within the 8 bytes from its tag; 0 for anything else, which read_scan_step then takes.
 * A record is its tag (below 0x80) and its fields, varints, each of which ends at a byte
 * below 0x80, so the record ends at the (fields + 1)th such byte: found with the bit
 * tricks of mp_skip_event, but for one word and with no loop. Its varints are then at
 * most 7 bytes long, never over 64 bits, so it is a record that mp_skip_event accepts,
 * ending at the same byte. The scan of python3's 300k-entry dict (callgrind, both
 * threads): 162.5M -> 108.6M instructions; looking into a second word for the records
 * this leaves to read_scan_step took more (122.9M), a 128-bit version more still. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a word's bytes in file order");

static inline int read_scan_common(struct read_scan_cursor *cursor)
{
	const uint8_t *p = cursor->at;
	if (cursor->chunk->end - p < (ptrdiff_t)sizeof(uint64_t))
		return 0;
	uint64_t word;
	memcpy(&word, p, sizeof(word));
	unsigned tag = (unsigned)(word & 0xff);
	if (tag - MP_REC_MALLOC > MP_REC_FREE - MP_REC_MALLOC)
		return 0;
	/* Byte i of the record is byte i of the word; the tag's is the first stop. */
	uint64_t stops = ~word & 0x8080808080808080ull;
	stops &= stops - 1; /* the tag's */
	stops &= stops - 1; /* the first field's */
	if (tag != MP_REC_FREE) { /* four fields, not two */
		stops &= stops - 1;
		stops &= stops - 1;
	}
	if (!stops)
		return 0; /* the record goes on past the word */
	cursor->at = p + ((unsigned)__builtin_ctzll(stops) >> 3) + 1;
	cursor->scan->events++;
	read_scan_count(cursor->scan, tag);
	return 1;
}

/* Steps over the cursor's next record: read_scan_step, the common case first. */
static inline int read_scan_next(struct read_scan_cursor *cursor)
{
	return read_scan_common(cursor) || read_scan_step(cursor);
}

/* Steps over the records of `chunk` up to the first that does not decode. */
static void read_scan_chunk(const struct mp_trace_chunk *chunk, struct read_scan *scan)
{
	struct read_scan_cursor cursor = { chunk, scan, chunk->records };
	while (read_scan_next(&cursor))
		continue;
}

/* Scans two chunks at once, a record of each in turn. Where a record ends is known only
 * once it is read, so one chunk's scan is a chain of dependent loads (the tag, then the
 * bytes after it) that keeps the core waiting; two independent chains overlap. The index
 * pass of python3's trace (mp_trace_open alone, medians of 5, three rounds): 67-75 -> 61-62
 * ms of CPU, 37-44 -> 33-35 ms. */
static void read_scan_pair(const struct mp_trace_chunk *first, struct read_scan *first_scan,
			   const struct mp_trace_chunk *second, struct read_scan *second_scan)
{
	struct read_scan_cursor a = { first, first_scan, first->records };
	struct read_scan_cursor b = { second, second_scan, second->records };
	while (read_scan_next(&a) && read_scan_next(&b))
		continue;
	while (read_scan_next(&a))
		continue;
	while (read_scan_next(&b))
		continue;
}

/* Scans four chunks at once, as read_scan_pair two: with the common records stepped over
 * in a few instructions (read_scan_common), two chains leave the core idle part of the
 * time (session 7 found four no better than two, with a step three times as long). The
 * index pass of python3's trace, medians of interleaved runs: at load 0.7, 56.8 -> 49.0
 * ms of CPU and 31.0 -> 30.4 ms; at 1.2, 55.1 -> 44.7 ms of CPU and 54.8 -> 43.4 ms.
 * Then the ones left when one of them ends. */
static void read_scan_four(const struct mp_trace_chunk *chunks, struct read_scan *scans)
{
	struct read_scan_cursor a = { &chunks[0], &scans[0], chunks[0].records };
	struct read_scan_cursor b = { &chunks[1], &scans[1], chunks[1].records };
	struct read_scan_cursor c = { &chunks[2], &scans[2], chunks[2].records };
	struct read_scan_cursor d = { &chunks[3], &scans[3], chunks[3].records };
	while (read_scan_next(&a) && read_scan_next(&b) && read_scan_next(&c) &&
	       read_scan_next(&d))
		continue;
	while (read_scan_next(&a) && read_scan_next(&b))
		continue;
	while (read_scan_next(&c) && read_scan_next(&d))
		continue;
	while (read_scan_next(&a))
		continue;
	while (read_scan_next(&b))
		continue;
	while (read_scan_next(&c))
		continue;
	while (read_scan_next(&d))
		continue;
}

/* Applies a scanned chunk's extended records; on one that does not decode the chunk ends
 * there, as if the scan had stopped. 0 or -ENOMEM. */
static int read_apply_chunk(struct mp_trace *trace, struct mp_trace_chunk *chunk,
			    const struct read_scan *scan)
{
	for (size_t i = 0; i < scan->count; i++) {
		const struct read_ext_at *at = &scan->ext[i];
		int rc = read_extended(trace, at->tag, at->body, at->body + at->len, chunk);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			chunk->end = at->record;
			trace->stats.events += at->events_before;
			chunk->net_blocks = at->net_before;
			chunk->most_net_blocks = at->most_before;
			trace->stats.corrupt_chunks++;
			return 0;
		}
	}
	trace->stats.events += scan->events;
	chunk->net_blocks = scan->net_blocks;
	chunk->most_net_blocks = scan->most_net_blocks;
	if (scan->cut) {
		chunk->end = scan->cut;
		trace->stats.corrupt_chunks++;
	}
	return 0;
}

struct read_scan_job {
	const struct mp_trace *trace;
	const struct mp_trace_chunk *chunks;
	struct read_scan *scans;
	size_t from, to;
};

/* Scans chunks [from, to) of the job, four at a time (then two, then one). */
static void *read_scan_range(void *arg)
{
	struct read_scan_job *job = arg;
	for (size_t i = job->from; i < job->to;) {
		size_t left = job->to - i, count = left >= 4 ? 4 : left >= 2 ? 2 : 1;
		if (count == 4)
			read_scan_four(&job->chunks[i], &job->scans[i]);
		else if (count == 2)
			read_scan_pair(&job->chunks[i], &job->scans[i], &job->chunks[i + 1],
				       &job->scans[i + 1]);
		else
			read_scan_chunk(&job->chunks[i], &job->scans[i]);
		/* Their extended records are read again when applied, and fault back in. */
		for (size_t j = i; j < i + count; j++)
			mp_trace_release(job->trace, job->chunks[j].records -
						     sizeof(struct mp_chunk_header), job->chunks[j].end);
		i += count;
	}
	return NULL;
}

/* Below this many bytes of records a second thread costs more than it saves. */
#define READ_PARALLEL_BYTES (1u << 20)

/* Scans every chunk, the later half (by bytes) on a second thread when there is enough
 * to share, then applies them in file order. 0 or -ENOMEM. */
int mp_trace_index(struct mp_trace *trace)
{
	size_t count = trace->chunk_count, total = 0, half = count;
	struct read_scan *scans = calloc(count ? count : 1, sizeof(*scans));
	if (!scans)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		total += (size_t)(trace->chunks[i].end - trace->chunks[i].records);
	for (size_t i = 0, bytes = 0; i < count && half == count; i++) {
		bytes += (size_t)(trace->chunks[i].end - trace->chunks[i].records);
		if (bytes * 2 >= total)
			half = i + 1;
	}
	struct read_scan_job first = { trace, trace->chunks, scans, 0, half };
	struct read_scan_job second = { trace, trace->chunks, scans, half, count };
	pthread_t helper;
	int threaded = total >= READ_PARALLEL_BYTES && half < count &&
		       pthread_create(&helper, NULL, read_scan_range, &second) == 0;
	read_scan_range(&first);
	if (threaded)
		pthread_join(helper, NULL);
	else
		read_scan_range(&second);
	int rc = 0;
	for (size_t i = 0; i < count; i++) {
		const struct mp_trace_chunk *chunk = &trace->chunks[i];
		if (rc == 0)
			rc = scans[i].enomem ? -ENOMEM : read_apply_chunk(trace, &trace->chunks[i],
									  &scans[i]);
		/* Applying faulted in the pages of the chunk's extended records, and the
		 * pages around them (as the chunk walk's, trace_read.c): give them back. */
		if (scans[i].count)
			mp_trace_release(trace, chunk->records - sizeof(struct mp_chunk_header),
					 chunk->end);
		free(scans[i].ext);
	}
	free(scans);
	return rc;
}
