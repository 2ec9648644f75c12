// reach_cxx.cc: C++ pointer patterns memcheck's heuristics call reachable (valgrind
// applies all of them by default), for tests/integration/test_reachability.c, which
// matches each tool's loss records to these sites by their sizes:
//   1048 subobject      a C (bases A and B, both with virtual functions) held only as
//                       the B* into it                               reachable (memcheck's
//                                                                     multipleinheritance)
//   1049 field pointer  held only by a pointer to its second field, a
//                       const char *: no vtable there                possible
//   1051 new[] array    seven objects with a destructor, held by the
//                       pointer new[] returns, 8 bytes in after the
//                       count                                         reachable (newarray)
//   1056 make_shared    an object std::make_shared put behind its
//                       control block, held only by the raw pointer
//                       get() returned (the shared_ptr's bytes
//                       wiped)                                        reachable (both words
//                                                                     vtable pointers)
// The sites are made in a function of their own and the stack below is then wiped, so
// no stale copy of a pointer survives in a dead frame. No stdio: its buffer would be a
// block of libc's.
#include <cstdlib>
#include <cstring>
#include <memory>

struct A {
	virtual ~A() {}
	long a = 1;
};
struct B {
	virtual ~B() {}
	long b = 2;
};
struct C : A, B {
	long c = 3;
	char pad[1008] = {};
};
static_assert(sizeof(C) == 1048, "site 1048");

struct Fields {
	const char *first;
	const char *second;
};

struct D {
	~D() { mark = 0; }
	char mark = 1;
	char pad[148] = {};
};
static_assert(sizeof(D) == 149, "site 1051: 8 + 7 * 149");

struct Shared {
	virtual ~Shared() {}
	char pad[1032] = {};
};

static B *g_subobject;
static Shared *g_shared_raw;
static const char **g_field;
static D *g_array;

static __attribute__((noinline)) void make_sites()
{
	g_subobject = new C;
	Fields *fields = static_cast<Fields *>(calloc(1, 1049));
	fields->first = "first";
	fields->second = "second";
	g_field = &fields->second;
	g_array = new D[7];
	auto *owner = new std::shared_ptr<Shared>(std::make_shared<Shared>());
	g_shared_raw = owner->get();
	memset(static_cast<void *>(owner), 0, sizeof(*owner)); /* its 16 bytes: lost */
}

static __attribute__((noinline)) void wipe_stack()
{
	volatile char dead[16384];
	memset(const_cast<char *>(dead), 0, sizeof(dead));
}

int main()
{
	make_sites();
	wipe_stack();
	exit(g_subobject && g_field && g_array && g_shared_raw ? 0 : 1);
}
