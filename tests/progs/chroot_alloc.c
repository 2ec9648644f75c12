/* chroot_alloc.c: a program whose trace's path stops leading to the trace while it runs
 * (tests/integration/trace_path.sh): it changes its root directory, as daemons do to
 * confine themselves, or its caller moves or removes the file meanwhile.
 *
 * Allocates and frees ALLOCATIONS blocks of 100 bytes, says "ready" and reads a line
 * from stdin (the caller may move the trace then); changes its root to DIR unless DIR is
 * "-", or with DIR "nobody" gives up root for user and group 65534 (a daemon dropping
 * its privileges, after which the trace's directory may be closed to it); then
 * allocates and frees ALLOCATIONS more and says "done".
 *
 *   chroot_alloc DIR ALLOCATIONS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "churn.h"

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long allocations = atol(argv[2]);
	char line[64];
	churn(allocations);
	puts("ready");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 2;
	if (strcmp(argv[1], "nobody") == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0) {
			perror("setuid");
			return 2;
		}
	} else if (strcmp(argv[1], "-") != 0 && (chroot(argv[1]) != 0 || chdir("/") != 0)) {
		perror("chroot");
		return 2;
	}
	churn(allocations);
	puts("done");
	return 0;
}
