/* stack_hash.c: the keys of the stack hash (stack_hash.h). */
#include "stack_hash.h"

uint64_t mp_stack_hash_keys[MP_STACK_HASH_KEYS];

void mp_stack_hash_init(void)
{
	uint64_t state = 0x6d656d70726f6621ull;
	for (int i = 0; i < MP_STACK_HASH_KEYS; i++) {
		state += 0x9e3779b97f4a7c15ull;
		mp_stack_hash_keys[i] = mp_mix64(state);
	}
}
