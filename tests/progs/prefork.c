/* prefork.c: a parent that builds tables a fork child then extends, as prefork servers
 * do (tests/integration/fork_exec_traces.sh).
 *
 * The parent builds `early` (100 blocks of 1000 bytes), waits 50 ms (its leak thread
 * folds them meanwhile), then builds `late` (5 blocks) and forks at once (those are
 * folded by the child, from the parent's trace). The child stores a new block of 500
 * bytes into each of early's first 10 blocks and late's 5, frees early[50], leaks one
 * block of 777 bytes and exits: its check must find the 15 stored blocks reachable
 * through the blocks it inherited, and the 777 lost. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void **early, **late;

static void **table(size_t count)
{
	void **blocks = malloc(count * sizeof(*blocks));
	if (!blocks)
		exit(1);
	for (size_t i = 0; i < count; i++) {
		blocks[i] = malloc(1000);
		if (!blocks[i])
			exit(1);
		memset(blocks[i], 0, 1000);
	}
	return blocks;
}

static void extend(void **blocks, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		void *added = malloc(500);
		if (!added)
			exit(1);
		memset(added, 2, 500);
		memcpy(blocks[i], &added, sizeof(added));
	}
}

int main(void)
{
	early = table(100);
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	late = table(5);
	pid_t child = fork();
	if (child == 0) {
		extend(early, 10);
		extend(late, 5);
		free(early[50]);
		early[50] = NULL;
		char *lost = malloc(777);
		if (!lost)
			exit(1);
		lost[0] = 1;
		lost = NULL;
		exit(0);
	}
	int status = 0;
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
