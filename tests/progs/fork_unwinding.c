/* fork_unwinding: fork while other threads are in the middle of unwinding.
 *
 * Usage: fork_unwinding FORKS
 *
 * Two threads call malloc from copies of a few bytes of machine code written at run time,
 * which no loaded object covers, a different copy each time: an unwinder meets a return
 * address it has not seen and asks the loader (dl_iterate_phdr) about it on almost every
 * allocation, holding the loader's lock while it looks. Meanwhile the main thread forks FORKS times; each child allocates (its first
 * event starts its own trace), and must exit within a second. A lock held by a parent
 * thread at the fork is held by no one in the child: if the child then needs it, it
 * hangs, which the parent sees as a child still running after a second.
 *
 * Exit status: 0 if every child exited normally, 1 if one hung or failed.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef void *(*stub_fn)(void);

#define STUB_BYTES 32
#define STUBS_BYTES (4u << 20)
#define STUB_COUNT (STUBS_BYTES / STUB_BYTES)

static volatile int stop;

/* STUB_COUNT copies of: push %rbx; movabs $malloc, %rax; mov $64, %edi; call *%rax;
 * pop %rbx; ret. The push keeps the stack 16-byte aligned at the call, as the ABI wants. */
static uint8_t *make_stubs(void)
{
	uint8_t code[] = { 0x53, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
			   0xbf, 0x40, 0, 0, 0, 0xff, 0xd0, 0x5b, 0xc3 };
	void *(*target)(size_t) = malloc;
	memcpy(code + 3, &target, sizeof(target));
	uint8_t *stubs = mmap(NULL, STUBS_BYTES, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stubs == MAP_FAILED)
		return NULL;
	for (size_t at = 0; at < STUBS_BYTES; at += STUB_BYTES)
		memcpy(stubs + at, code, sizeof(code));
	if (mprotect(stubs, STUBS_BYTES, PROT_READ | PROT_EXEC) != 0)
		return NULL;
	return stubs;
}

static void *worker(void *arg)
{
	uint8_t *stubs = arg;
	for (size_t i = 0; !stop; i = (i + 7919) % STUB_COUNT) {
		uint8_t *code = stubs + i * STUB_BYTES;
		stub_fn stub;
		memcpy(&stub, &code, sizeof(stub));
		free(stub());
	}
	return NULL;
}

/* Waits up to a second for the child; kills it if it is still there. */
static int child_ok(pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		int status;
		pid_t done = waitpid(pid, &status, WNOHANG);
		if (done == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int forks = argc > 1 ? atoi(argv[1]) : 50;
	uint8_t *stubs = make_stubs();
	if (!stubs) {
		perror("fork_unwinding: stub");
		return 2;
	}
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, worker, stubs);
	int failed = 0;
	for (int i = 0; i < forks && !failed; i++) {
		struct timespec pause = { 0, 200000 };
		nanosleep(&pause, NULL);
		pid_t pid = fork();
		if (pid == 0) {
			free(malloc(32));
			_exit(0);
		}
		if (pid < 0 || !child_ok(pid)) {
			fprintf(stderr, "fork_unwinding: child %d of %d hung or failed\n", i + 1,
				forks);
			failed = 1;
		}
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	return failed;
}
