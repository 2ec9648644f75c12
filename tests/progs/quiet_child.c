/* quiet_child.c: a fork child that records nothing before its exit, beside a parent
 * that frees every block it made but holds 64 MiB of its own mapping, written
 * (tests/integration/quiet_child.sh).
 *
 * The child sleeps 200 ms without allocating, then calls exit(0): its trace must still
 * start at the fork, and carry its exit snapshot and leak check. The parent waits for
 * it, frees its one block and returns from main: with no block left, its exit check has
 * nothing to classify and must not read the 64 MiB of roots. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POOL_BYTES (64u << 20)

int main(void)
{
	char *pool = mmap(NULL, POOL_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (pool == MAP_FAILED)
		return 1;
	memset(pool, 1, POOL_BYTES);
	char *block = malloc(100);
	if (!block)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		struct timespec pause = { 0, 200 * 1000 * 1000 };
		nanosleep(&pause, NULL);
		exit(0);
	}
	int status = 0;
	waitpid(child, &status, 0);
	free(block);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
