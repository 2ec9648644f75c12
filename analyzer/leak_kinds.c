/* leak_kinds.c: reading the LEAK_CLASS and LEAK_SUMMARY records of a trace: one check's
 * classes, chosen among the checks by its place in time order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leak_kinds.h"
#include "memprof/varint.h"

struct kinds_pair {
	uint64_t addr;
	uint8_t kind;
};

enum { SUMMARY_STATUS, SUMMARY_TIME, SUMMARY_SCAN, SUMMARY_BLOCKS, SUMMARY_ROOTS,
       SUMMARY_BLOCK_BYTES, SUMMARY_THREADS, SUMMARY_FLAGS, SUMMARY_CHECK, SUMMARY_REASON,
       SUMMARY_SIGNAL, SUMMARY_STOPPED, SUMMARY_NOT_STOPPED, SUMMARY_HEURISTIC_BLOCKS,
       SUMMARY_HEURISTIC_BYTES, SUMMARY_FIELDS };

/* One check's LEAK_SUMMARY. Fields after the first eight are absent from older
 * writers (check 1, at exit), and the heuristics' counts from those before them (0). */
struct kinds_check {
	uint64_t field[SUMMARY_FIELDS];
	int fields;
};

static int kinds_summary(struct kinds_check *check, const uint8_t *p, const uint8_t *end)
{
	memset(check, 0, sizeof(*check));
	check->field[SUMMARY_CHECK] = 1;
	for (int i = 0; i < SUMMARY_FIELDS && p < end; i++, check->fields++)
		if (mp_get_u(&p, end, &check->field[i]))
			return -EINVAL;
	return check->fields >= SUMMARY_CHECK ? 0 : -EINVAL;
}

static void kinds_use_summary(struct mp_leak_kinds *kinds, const struct kinds_check *check)
{
	const uint64_t *field = check->field;
	kinds->status = (uint32_t)field[SUMMARY_STATUS];
	kinds->time_ns = field[SUMMARY_TIME];
	kinds->scan_ns = field[SUMMARY_SCAN];
	kinds->blocks = field[SUMMARY_BLOCKS];
	kinds->root_bytes = field[SUMMARY_ROOTS];
	kinds->block_bytes = field[SUMMARY_BLOCK_BYTES];
	kinds->threads = (uint32_t)field[SUMMARY_THREADS];
	kinds->flags = (uint32_t)field[SUMMARY_FLAGS];
	kinds->reason = (uint32_t)field[SUMMARY_REASON];
	kinds->signal = (uint32_t)field[SUMMARY_SIGNAL];
	kinds->stopped = (uint32_t)field[SUMMARY_STOPPED];
	kinds->not_stopped = (uint32_t)field[SUMMARY_NOT_STOPPED];
	kinds->heuristic_blocks = field[SUMMARY_HEURISTIC_BLOCKS]; /* 0 before they were written */
	kinds->heuristic_bytes = field[SUMMARY_HEURISTIC_BYTES];
	kinds->state = field[SUMMARY_STATUS] ? MP_LEAK_SCAN_FAILED : MP_LEAK_SCAN_DONE;
}

/* The number of the check a LEAK_CLASS body belongs to (1 if it names none), and where
 * its pairs start. */
static int kinds_class_check(const uint8_t *p, const uint8_t *end, uint64_t *check)
{
	uint64_t listed, value;
	if (mp_get_u(&p, end, &listed))
		return -EINVAL;
	for (uint64_t i = 0; i < 2 * listed; i++)
		if (mp_get_u(&p, end, &value))
			return -EINVAL;
	*check = 1;
	if (p < end && mp_get_u(&p, end, check))
		return -EINVAL;
	return 0;
}

/* Appends the pairs of one LEAK_CLASS body. 0, -EINVAL or -ENOMEM. */
static int kinds_class(struct kinds_pair **pairs, size_t *count, size_t *cap, const uint8_t *p,
		       const uint8_t *end)
{
	uint64_t listed, addr = 0;
	if (mp_get_u(&p, end, &listed) || listed > (uint64_t)(end - p) / 2)
		return -EINVAL;
	if (*count + listed > *cap) {
		size_t grown_cap = (*cap ? *cap : 1024);
		while (grown_cap < *count + listed)
			grown_cap *= 2;
		void *grown = realloc(*pairs, grown_cap * sizeof(**pairs));
		if (!grown)
			return -ENOMEM;
		*pairs = grown;
		*cap = grown_cap;
	}
	for (uint64_t i = 0; i < listed; i++) {
		uint64_t delta, kind;
		if (mp_get_u(&p, end, &delta) || mp_get_u(&p, end, &kind) ||
		    kind >= MP_LEAK_KIND_COUNT)
			return -EINVAL;
		addr += delta;
		(*pairs)[(*count)++] = (struct kinds_pair){ addr, (uint8_t)kind };
	}
	return 0;
}

static int kinds_compare(const void *left, const void *right)
{
	const struct kinds_pair *a = left, *b = right;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int kinds_store(struct mp_leak_kinds *kinds, struct kinds_pair *pairs, size_t count)
{
	if (count) /* a scan that found no block leaves pairs NULL, which qsort must not get */
		qsort(pairs, count, sizeof(*pairs), kinds_compare);
	kinds->addrs = malloc((count ? count : 1) * sizeof(*kinds->addrs));
	kinds->kinds = malloc(count ? count : 1);
	if (!kinds->addrs || !kinds->kinds)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		kinds->addrs[i] = pairs[i].addr;
		kinds->kinds[i] = pairs[i].kind;
	}
	kinds->count = count;
	return 0;
}

static int kinds_check_compare(const void *left, const void *right)
{
	const struct kinds_check *a = left, *b = right;
	if (a->field[SUMMARY_TIME] != b->field[SUMMARY_TIME])
		return a->field[SUMMARY_TIME] < b->field[SUMMARY_TIME] ? -1 : 1;
	return a->field[SUMMARY_CHECK] < b->field[SUMMARY_CHECK] ? -1
	       : a->field[SUMMARY_CHECK] > b->field[SUMMARY_CHECK];
}

/* Every check's summary, in time order. A check summarized twice (an older writer
 * scanning once, a trace with a repeated record) counts once: its last summary. */
static int kinds_checks(const struct mp_ext_record *records, size_t record_count,
			struct kinds_check **out, size_t *count)
{
	struct kinds_check *checks = NULL;
	size_t cap = 0;
	*count = 0;
	for (size_t i = 0; i < record_count; i++) {
		struct kinds_check check;
		if (records[i].tag != MP_REC_LEAK_SUMMARY ||
		    kinds_summary(&check, records[i].body, records[i].body + records[i].len))
			continue;
		size_t at = 0;
		while (at < *count && checks[at].field[SUMMARY_CHECK] != check.field[SUMMARY_CHECK])
			at++;
		if (at == *count && *count == cap) {
			cap = cap ? cap * 2 : 8;
			void *grown = realloc(checks, cap * sizeof(*checks));
			if (!grown) {
				free(checks);
				return -ENOMEM;
			}
			checks = grown;
		}
		checks[at] = check;
		*count += at == *count;
	}
	if (*count)
		qsort(checks, *count, sizeof(*checks), kinds_check_compare);
	*out = checks;
	return 0;
}

/* The check `index` asks for (from 1), or the default: the one at exit, else the last. */
static size_t kinds_pick(const struct kinds_check *checks, size_t count, size_t index)
{
	if (index)
		return index - 1;
	for (size_t i = count; i-- > 0;)
		if (checks[i].field[SUMMARY_REASON] == MP_LEAK_CHECK_EXIT)
			return i;
	return count - 1;
}

int mp_leak_kinds_load(struct mp_leak_kinds *kinds, const struct mp_trace *trace, size_t index)
{
	size_t record_count, count = 0, cap = 0, check_count;
	const struct mp_ext_record *records = mp_trace_ext_records(trace, &record_count);
	struct kinds_pair *pairs = NULL;
	struct kinds_check *checks;
	memset(kinds, 0, sizeof(*kinds));
	int rc = kinds_checks(records, record_count, &checks, &check_count);
	if (rc)
		return rc;
	kinds->checks = check_count;
	if (index > check_count) {
		free(checks);
		return -ERANGE;
	}
	if (!check_count) {
		free(checks);
		return 0;
	}
	size_t picked = kinds_pick(checks, check_count, index);
	uint64_t number = checks[picked].field[SUMMARY_CHECK];
	kinds_use_summary(kinds, &checks[picked]);
	kinds->index = picked + 1;
	free(checks);
	for (size_t i = 0; i < record_count && rc == 0; i++) {
		const uint8_t *body = records[i].body, *end = body + records[i].len;
		uint64_t check;
		if (records[i].tag != MP_REC_LEAK_CLASS)
			continue;
		rc = kinds_class_check(body, end, &check);
		if (rc == 0 && check == number)
			rc = kinds_class(&pairs, &count, &cap, body, end);
	}
	if (rc == 0 && kinds->state == MP_LEAK_SCAN_DONE)
		rc = kinds_store(kinds, pairs, count);
	free(pairs);
	if (rc == -EINVAL) {
		size_t checks_seen = kinds->checks;
		mp_leak_kinds_free(kinds);
		kinds->checks = checks_seen;
		return 0;
	}
	return rc;
}

const char *mp_leak_check_reason_name(uint32_t reason)
{
	switch (reason) {
	case MP_LEAK_CHECK_SIGNAL:
		return "signal";
	case MP_LEAK_CHECK_FATAL_SIGNAL:
		return "fatal-signal";
	default:
		return "exit";
	}
}

void mp_leak_kinds_free(struct mp_leak_kinds *kinds)
{
	free(kinds->addrs);
	free(kinds->kinds);
	memset(kinds, 0, sizeof(*kinds));
}

unsigned mp_leak_kinds_lookup(const struct mp_leak_kinds *kinds, uint64_t addr)
{
	size_t low = 0, high = kinds->count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (kinds->addrs[mid] < addr)
			low = mid + 1;
		else
			high = mid;
	}
	if (low < kinds->count && kinds->addrs[low] == addr)
		return kinds->kinds[low];
	return MP_LEAK_KIND_UNKNOWN;
}

static const char *const kind_names[MP_LEAK_KINDS] = {
	[MP_LEAK_KIND_REACHABLE] = "reachable", [MP_LEAK_KIND_POSSIBLE] = "possible",
	[MP_LEAK_KIND_INDIRECT] = "indirect",   [MP_LEAK_KIND_DEFINITE] = "definite",
	[MP_LEAK_KIND_UNKNOWN] = "unknown",
};

const char *mp_leak_kind_name(unsigned kind)
{
	return kind < MP_LEAK_KINDS ? kind_names[kind] : "unknown";
}

int mp_leak_kind_set_parse(const char *text, unsigned *set)
{
	*set = 0;
	while (*text) {
		size_t len = strcspn(text, ",");
		unsigned kind = 0;
		if (len == 3 && strncmp(text, "all", 3) == 0)
			*set |= (1u << MP_LEAK_KINDS) - 1;
		else {
			for (; kind < MP_LEAK_KINDS; kind++)
				if (strlen(kind_names[kind]) == len &&
				    strncmp(text, kind_names[kind], len) == 0)
					break;
			if (kind == MP_LEAK_KINDS)
				return -EINVAL;
			*set |= 1u << kind;
		}
		text += len + (text[len] == ',');
	}
	return *set ? 0 : -EINVAL;
}
