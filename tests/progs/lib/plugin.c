/* plugin.c: a dlopen()ed library that leaks count blocks of 7777 bytes. */
#include <stdlib.h>

void plugin_allocate(int count)
{
	for (int i = 0; i < count; i++)
		((char *)malloc(7777))[0] = 1;
}
