/* startup_cpu.c: the CPU time the main thread spent before main() and one allocation
 * (CLOCK_THREAD_CPUTIME_ID), in microseconds: memprof's start runs on this thread (its
 * trace made, a leftover at the trace's name replaced). With "wait": then 300 ms later,
 * how many of the process's descriptors name a removed file.
 *
 *   startup_cpu [wait]   prints "cpu_us N" [and "deleted_open N"]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int deleted_open(void)
{
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		char path[64], target[4096];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", entry->d_name);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		count += len > 10 && strcmp(target + len - 10, " (deleted)") == 0;
	}
	closedir(dir);
	return count;
}

int main(int argc, char **argv)
{
	free(malloc(64));
	struct timespec cpu;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) != 0)
		return 1;
	printf("cpu_us %ld\n", (long)cpu.tv_sec * 1000000L + cpu.tv_nsec / 1000);
	if (argc > 1 && strcmp(argv[1], "wait") == 0) {
		struct timespec pause = { 0, 300 * 1000 * 1000 };
		nanosleep(&pause, NULL);
		printf("deleted_open %d\n", deleted_open());
	}
	return 0;
}
