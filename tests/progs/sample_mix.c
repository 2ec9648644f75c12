/* sample_mix.c: three call sites allocating about 60%, 30% and 10% of the bytes with
 * mixed sizes, for checking sampled estimates against the truth.
 *   sample_mix TOTAL_MIB MEAN_BYTES
 * prints, per site, the exact bytes it allocated and the standard deviation that a
 * Poisson-by-bytes sampler of mean MEAN_BYTES gives the estimate of that total:
 *   site_a <bytes> <sigma>
 * (each allocation of s bytes sampled with p = 1 - exp(-s/N) and weighed s/p contributes
 * variance s^2 (1 - p) / p). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct site {
	const char *name;
	uint64_t bytes;
	double variance;
};

static uint64_t state = 0x9e3779b97f4a7c15ull;
static double mean_bytes;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static void account(struct site *site, size_t size)
{
	double p = -expm1(-(double)size / mean_bytes);
	site->bytes += size;
	site->variance += (double)size * (double)size * (1 - p) / p;
}

__attribute__((noinline)) static void site_a(struct site *site)
{
	size_t size = 1024 + next() % (63 * 1024);
	free(malloc(size));
	account(site, size);
}

__attribute__((noinline)) static void site_b(struct site *site)
{
	size_t size = 16 + next() % 497;
	free(malloc(size));
	account(site, size);
}

__attribute__((noinline)) static void site_c(struct site *site)
{
	size_t size = 4096 + next() % (12 * 1024);
	free(malloc(size));
	account(site, size);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	uint64_t total = strtoull(argv[1], NULL, 10) << 20;
	mean_bytes = strtod(argv[2], NULL);
	struct site sites[3] = { { "site_a", 0, 0 }, { "site_b", 0, 0 }, { "site_c", 0, 0 } };
	/* Whichever site is furthest below its share allocates next. */
	while (sites[0].bytes + sites[1].bytes + sites[2].bytes < total) {
		if (sites[0].bytes * 10 < (sites[0].bytes + sites[1].bytes + sites[2].bytes) * 6)
			site_a(&sites[0]);
		else if (sites[1].bytes * 10 < (sites[0].bytes + sites[1].bytes + sites[2].bytes) * 3)
			site_b(&sites[1]);
		else
			site_c(&sites[2]);
	}
	for (int i = 0; i < 3; i++)
		printf("%s %llu %.0f\n", sites[i].name, (unsigned long long)sites[i].bytes,
		       sqrt(sites[i].variance));
	return 0;
}
