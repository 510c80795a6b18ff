/* Guest helper for the plugin tests (static, appended to the default
 * initrd): outb PORT STRING writes each byte of STRING to the I/O port
 * PORT (decimal or 0x hex), one outb per byte. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	unsigned long port;

	if (argc != 3) {
		fprintf(stderr, "usage: outb PORT STRING\n");
		return 2;
	}
	port = strtoul(argv[1], NULL, 0);
	if (port > 0xFFFF || ioperm(port, 1, 1) < 0) {
		perror("ioperm");
		return 1;
	}
	for (const char *p = argv[2]; *p; p++)
		outb((unsigned char)*p, (unsigned short)port);
	return 0;
}
