/* A profiler's maps reader: read(fd, buf, CHUNK) until end of file, every byte to
 * stdout, and to stderr one line per read() with the byte count it returned.
 *
 *   reader PATH [CHUNK]      (CHUNK: bytes per read(), default 4096)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH [CHUNK]\n", argv[0]);
		return 2;
	}
	size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 0) : 4096;
	char *buf = malloc(chunk);
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0 || !buf) {
		perror(argv[1]);
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, chunk);
		if (n < 0) {
			perror("read");
			return 1;
		}
		fprintf(stderr, "read %zd\n", n);
		if (n == 0)
			break;
		if (write(1, buf, n) != n) {
			perror("write");
			return 1;
		}
	}
	close(fd);
	return 0;
}
