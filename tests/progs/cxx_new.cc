// cxx_new.cc: operator new/new[]/delete/delete[] reach malloc/free under the preload.
#include <cstdio>

struct Widget {
	char payload[48];
};

static Widget *keep;

int main()
{
	Widget *one = new Widget();     // 48 bytes, freed
	delete one;
	char *many = new char[1000];    // 1000 bytes, freed with delete[]
	delete[] many;
	keep = new Widget[3];           // 144 bytes, kept alive by a global
	int *leaked = new int[250];     // 1000 bytes, leaked
	leaked[0] = 1;
	return keep == nullptr;
}
