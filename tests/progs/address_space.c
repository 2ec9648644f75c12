/* address_space.c: how much address space (VIRT) the process holds once memprof's
 * threads run. It allocates and frees 1000 blocks, waits 100 ms (memprof's leak thread
 * has started and warmed up by then), writes /proc/self/status's VmSize in KiB to stdout
 * and exits.
 *
 *   address_space   prints "VmSize KIB"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void)
{
	for (int i = 0; i < 1000; i++)
		free(malloc(16 + (size_t)i));
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	char line[256];
	long kib = -1;
	FILE *status = fopen("/proc/self/status", "r");
	if (!status)
		return 1;
	while (fgets(line, sizeof(line), status))
		if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
			break;
	fclose(status);
	printf("VmSize %ld\n", kib);
	return kib > 0 ? 0 : 1;
}
