/* leak_kinds.c: reading the LEAK_CLASS and LEAK_SUMMARY records of a trace. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leak_kinds.h"
#include "memprof/varint.h"

struct kinds_pair {
	uint64_t addr;
	uint8_t kind;
};

static int kinds_summary(struct mp_leak_kinds *kinds, const uint8_t *p, const uint8_t *end)
{
	uint64_t field[8];
	for (int i = 0; i < 8; i++)
		if (mp_get_u(&p, end, &field[i]))
			return -EINVAL;
	kinds->status = (uint32_t)field[0];
	kinds->time_ns = field[1];
	kinds->scan_ns = field[2];
	kinds->blocks = field[3];
	kinds->root_bytes = field[4];
	kinds->block_bytes = field[5];
	kinds->threads = (uint32_t)field[6];
	kinds->flags = (uint32_t)field[7];
	kinds->state = field[0] ? MP_LEAK_SCAN_FAILED : MP_LEAK_SCAN_DONE;
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

int mp_leak_kinds_load(struct mp_leak_kinds *kinds, const struct mp_trace *trace)
{
	size_t record_count, count = 0, cap = 0;
	const struct mp_ext_record *records = mp_trace_ext_records(trace, &record_count);
	struct kinds_pair *pairs = NULL;
	int rc = 0;
	memset(kinds, 0, sizeof(*kinds));
	/* A process scans once, at exit; if several summaries appear, the last one counts,
	 * with the classes written before it. */
	for (size_t i = 0; i < record_count && rc == 0; i++) {
		const uint8_t *body = records[i].body, *end = body + records[i].len;
		if (records[i].tag == MP_REC_LEAK_CLASS)
			rc = kinds_class(&pairs, &count, &cap, body, end);
		else if (records[i].tag == MP_REC_LEAK_SUMMARY)
			rc = kinds_summary(kinds, body, end);
	}
	if (rc == 0 && kinds->state == MP_LEAK_SCAN_DONE)
		rc = kinds_store(kinds, pairs, count);
	free(pairs);
	if (rc == -EINVAL) {
		mp_leak_kinds_free(kinds);
		return 0;
	}
	return rc;
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
