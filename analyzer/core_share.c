/* core_share.c: the calling thread's run-queue delay over a stretch of work. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "core_share.h"

/* Below this a stretch says nothing: a time slice or two of waiting is normal. */
#define SHARE_MIN_NS 5000000u

static uint64_t share_now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* The calling thread's time spent waiting on a run queue, in ns; UINT64_MAX if unknown.
 * /proc/thread-self/schedstat is one line, "cpu_ns wait_ns timeslices":
 *
 *   1874932761 52408 1
 */
static uint64_t share_wait_ns(void)
{
	char line[96];
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return UINT64_MAX;
	ssize_t got = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (got <= 0)
		return UINT64_MAX;
	line[got] = '\0';
	uint64_t cpu_ns, wait_ns;
	if (sscanf(line, "%" SCNu64 " %" SCNu64, &cpu_ns, &wait_ns) != 2)
		return UINT64_MAX;
	return wait_ns;
}

void mp_core_share_start(struct mp_core_share *share)
{
	share->start_ns = share_now_ns();
	share->start_wait_ns = share_wait_ns();
}

int mp_core_share_free(const struct mp_core_share *share)
{
	uint64_t elapsed = share_now_ns() - share->start_ns, wait = share_wait_ns();
	if (share->start_wait_ns == UINT64_MAX || wait == UINT64_MAX || elapsed < SHARE_MIN_NS)
		return 1;
	return (wait - share->start_wait_ns) * 5 < elapsed;
}
