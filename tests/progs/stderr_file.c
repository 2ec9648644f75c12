/* stderr_file.c: a program that closes its stderr and opens a file of its own, which
 * gets descriptor 2, as daemons do (tests/integration/fd_reuse.sh). It allocates, writes
 * one line of its own into the file and exits; the file must hold that line only.
 *
 *   stderr_file FILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	close(2);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd != 2)
		return 2;
	for (int i = 0; i < 1000; i++)
		free(malloc(10 + (size_t)i));
	const char *line = "the program's own line\n";
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		return 2;
	return 0;
}
