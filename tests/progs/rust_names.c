/* rust_names.c: functions that carry Rust's symbol names, v0 and legacy, as a Rust
 * program's do (tests/integration/rust_names.sh). Built without DWARF: the symbol table
 * names them, mangled. main calls demo::outer::call (legacy), which calls
 * <demo::inner::Holder>::new and demo::generic::<usize> (v0), each of which calls
 * demo::inner::allocate (v0) for blocks of 40 bytes: 3 and 2 of them.
 *
 *   rust_names       prints "ok 5"
 */
#include <stdio.h>
#include <stdlib.h>

void *demo_allocate(void) __asm__("_RNvNtCs1a2b3c4d5e6_4demo5inner8allocate");
void demo_holder_new(void) __asm__("_RNvMNtCs1a2b3c4d5e6_4demo5innerNtB2_6Holder3new");
void demo_generic(void) __asm__("_RINvCs1a2b3c4d5e6_4demo7genericjEB2_");
void demo_call(void) __asm__("_ZN4demo5outer4call17h0123456789abcdefE");

static void *blocks[5];
static int count;

__attribute__((noinline)) void *demo_allocate(void)
{
	void *block = malloc(40);
	__asm__ volatile("" : : "r"(block) : "memory");
	return block;
}

__attribute__((noinline)) void demo_holder_new(void)
{
	for (int i = 0; i < 3; i++)
		blocks[count++] = demo_allocate();
}

__attribute__((noinline)) void demo_generic(void)
{
	for (int i = 0; i < 2; i++)
		blocks[count++] = demo_allocate();
}

__attribute__((noinline)) void demo_call(void)
{
	demo_holder_new();
	demo_generic();
}

int main(void)
{
	demo_call();
	int made = 0;
	for (int i = 0; i < count; i++) {
		made += blocks[i] != NULL;
		free(blocks[i]);
	}
	printf("ok %d\n", made);
	return 0;
}
