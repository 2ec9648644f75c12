// inline_chain.cc: allocations whose stacks are mostly inlined code, built -O2 -g
// (tests/tests.mk), for checking every frame memprof symbolizes against addr2line -i.
//
// Registry::open (kept out of line) builds a Session, whose constructor fills a vector
// through three levels of our own forced-inline helpers and then std::vector's inlined
// reserve -> _M_allocate -> allocator_traits::allocate -> __new_allocator::allocate,
// down to operator new. main reaches Registry::open through two more inlined levels.
#include <cstdio>
#include <vector>

#define INLINE inline __attribute__((always_inline))

struct Session {
	std::vector<int> ids;

	INLINE void grow(int count) { ids.reserve((size_t)count); }
	INLINE void prepare(int count) { grow(count * 2); ids.push_back(count); }
	INLINE void fill(int count) { prepare(count + 1); ids.push_back(-count); }
	INLINE explicit Session(int count) { fill(count); }
};

struct Registry {
	Session *last = nullptr;
	__attribute__((noinline)) Session *open(int count);
};

Session *Registry::open(int count)
{
	last = new Session(count);
	return last;
}

static Registry registry;

static INLINE Session *open_twice(int count)
{
	registry.open(count);
	return registry.open(count + 100);
}

static INLINE Session *start(int count)
{
	return open_twice(count * 3);
}

int main(int argc, char **)
{
	Session *session = start(argc + 10);
	std::printf("%zu\n", session->ids.size());
	return 0;
}
