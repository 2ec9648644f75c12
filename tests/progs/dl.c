/* dl.c: a library that allocates is loaded, used, unloaded; argv[1] is its path. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *handle = dlopen(argv[1], RTLD_NOW);
	if (!handle) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	void (*allocate)(int) = (void (*)(int))dlsym(handle, "plugin_allocate");
	allocate(3);
	dlclose(handle);
	return 0;
}
