/* make_corpus.c: writes the fuzzer's seed traces (small pages, every record kind). */
#include <stdio.h>
#include <stdlib.h>

#include "trace_builder.h"

static struct mp_tb *corpus_builder(void)
{
	struct mp_tb *tb = mp_tb_new();
	mp_tb_set_page_size(tb, 128);
	mp_tb_set_chunk_capacity(tb, 256);
	mp_tb_set_exe(tb, "/bin/p");
	mp_tb_set_cmdline(tb, "p\0x", 3);
	return tb;
}

static int corpus_write(struct mp_tb *tb, const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int rc = mp_tb_write(tb, path);
	mp_tb_destroy(tb);
	if (rc < 0)
		fprintf(stderr, "make_corpus: cannot write '%s'\n", path);
	return rc;
}

static int corpus_every_kind(const char *dir)
{
	struct mp_tb *tb = corpus_builder();
	const uint8_t id[] = { 0xab, 0xcd };
	uint64_t frames[] = { 0x401010, 0x401200, 0x7f0000001000 };
	mp_tb_module(tb, 1, 0, 0x400000, 0x402000, 0, "/bin/p", id, sizeof(id));
	mp_tb_module(tb, 1, 0, 0x7f0000000000, 0x7f0000010000, 0x7f0000000000, "/l.so", NULL, 0);
	mp_tb_stack(tb, 1, 1, 0, frames, 3);
	mp_tb_stack(tb, 1, 2, 0, frames, 3);
	uint64_t inner[] = { 0x401020, 0x401200, 0x7f0000001000 };
	mp_tb_stack_shared(tb, 1, 3, 0, 1, 2, inner, 3);
	mp_tb_malloc(tb, 1, 10, 0x1000, 16, 1);
	mp_tb_malloc(tb, 1, 10, 0x3000, 16, 3);
	mp_tb_alloc(tb, 1, MP_REC_CALLOC, 11, 0x1100, 32, 2);
	mp_tb_realloc(tb, 1, 12, 13, 0x1000, 0x2000, 64, 1);
	mp_tb_free(tb, 1, 14, 0x2000);
	mp_tb_alloc_failed(tb, 1, 15, MP_REC_MALLOC, 1ull << 50, 1);
	mp_tb_mmap(tb, 1, 16, 0x7f1000000000, 8192, 3, 0x22, -1, 0, 1);
	mp_tb_mremap(tb, 1, 17, 18, 0x7f1000000000, 8192, 0x7f2000000000, 16384, 1, 2);
	mp_tb_munmap(tb, 1, 19, 0x7f2000000000, 16384);
	mp_tb_brk(tb, 1, 20, 0x600000, 0x621000, 2);
	mp_tb_extended(tb, 1, 0x70, "new", 3);
	return corpus_write(tb, dir, "every_kind.memprof");
}

static int corpus_threads(const char *dir)
{
	struct mp_tb *tb = corpus_builder();
	uint64_t frames[] = { 0x401010 };
	mp_tb_stack(tb, 1, 1, 0, frames, 1);
	mp_tb_module(tb, 2, 1, 0x400000, 0x402000, 0, "/bin/p", NULL, 0);
	for (uint64_t i = 0; i < 30; i++) {
		mp_tb_malloc(tb, 1 + i % 3, 100 + i, 0x5000 + i * 32, i, 1);
		mp_tb_free(tb, 1 + i % 3, 100 + i, 0x5000 + i * 32);
	}
	mp_tb_set_dropped(tb, 2, 3);
	return corpus_write(tb, dir, "threads.memprof");
}

/* A sampled trace with a window: SAMPLES_FREED counts and a SAMPLED_PEAK capture. */
static int corpus_sampled(const char *dir)
{
	struct mp_tb *tb = corpus_builder();
	mp_tb_header(tb)->sample_bytes = 1000;
	mp_tb_header(tb)->sample_window_ms = 1000;
	uint64_t frames[] = { 0x401010, 0x401200 };
	mp_tb_stack(tb, 1, 1, 0, frames, 2);
	mp_tb_malloc(tb, 1, 10, 0x1000, 100, 1);
	const uint8_t freed[] = { 1, 2, 4, 0x9c, 0x18, 0xd0, 0x0f };
	mp_tb_extended(tb, 2, MP_REC_SAMPLES_FREED, freed, sizeof(freed));
	const uint8_t peak[] = { 1, 20, 11, 0x9b, 0x08, 1 };
	mp_tb_extended(tb, 1, MP_REC_SAMPLED_PEAK, peak, sizeof(peak));
	const uint8_t peak_stack[] = { 1, 1, 11, 0x9b, 0x08 };
	mp_tb_extended(tb, 1, MP_REC_SAMPLED_PEAK_STACK, peak_stack, sizeof(peak_stack));
	return corpus_write(tb, dir, "sampled.memprof");
}

/* Leak checks: one on a signal, one at exit, from two threads; classes carry the check's
 * number, summaries the fields after the first eight. */
static int corpus_leak_checks(const char *dir)
{
	struct mp_tb *tb = corpus_builder();
	mp_tb_malloc(tb, 1, 10, 0x1000, 16, 0);
	mp_tb_malloc(tb, 1, 11, 0x1040, 16, 0);
	const uint8_t class1[] = { 2, 0x80, 0x20, 3, 0x40, 0, 1 };
	mp_tb_extended(tb, 1, MP_REC_LEAK_CLASS, class1, sizeof(class1));
	const uint8_t summary1[] = { 0, 20, 5, 2, 0x80, 0x20, 32, 1, 0, 1, 1, 10, 1, 0 };
	mp_tb_extended(tb, 1, MP_REC_LEAK_SUMMARY, summary1, sizeof(summary1));
	const uint8_t class2[] = { 1, 0x80, 0x20, 3, 2 };
	mp_tb_extended(tb, 2, MP_REC_LEAK_CLASS, class2, sizeof(class2));
	const uint8_t summary2[] = { 0, 30, 5, 1, 0x80, 0x20, 16, 1, 0, 2, 0, 0, 1, 0 };
	mp_tb_extended(tb, 2, MP_REC_LEAK_SUMMARY, summary2, sizeof(summary2));
	return corpus_write(tb, dir, "leak_checks.memprof");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_corpus DIR\n");
		return 2;
	}
	return corpus_every_kind(argv[1]) < 0 || corpus_threads(argv[1]) < 0 ||
	       corpus_sampled(argv[1]) < 0 || corpus_leak_checks(argv[1]) < 0;
}
