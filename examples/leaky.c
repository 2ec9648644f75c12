/* leaky.c: the example README profiles: a small "service" with one real leak, a cache that
 * holds memory until exit, and a loop that churns the allocator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct request {
	char *path;
	char *body;
};

static char *cache[64];

static struct request *parse_request(int id)
{
	struct request *request = malloc(sizeof(*request));
	request->path = malloc(64);
	snprintf(request->path, 64, "/items/%d", id);
	request->body = malloc(1024);
	memset(request->body, 'x', 1024);
	return request;
}

/* The bug: the body is never freed. */
static void release_request(struct request *request)
{
	free(request->path);
	free(request);
}

static void remember(int id)
{
	free(cache[id % 64]);
	cache[id % 64] = strdup("cached response for a recent request");
}

static long checksum(int rounds)
{
	long sum = 0;
	for (int i = 0; i < rounds; i++) {
		char *scratch = malloc(256); /* temporary: freed before anything else is allocated */
		scratch[0] = (char)i;
		sum += scratch[0];
		free(scratch);
	}
	return sum;
}

int main(void)
{
	for (int id = 0; id < 100; id++) {
		struct request *request = parse_request(id);
		remember(id);
		release_request(request);
	}
	printf("checksum %ld\n", checksum(1000));
	return 0;
}
