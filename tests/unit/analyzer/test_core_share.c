/* test_core_share.c: the run-queue wait over a stretch of work: a stretch too short to
 * tell, or spent asleep (waiting for no CPU), leaves the second core free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "core_share.h"

static void short_stretch_says_free(void **state)
{
	struct mp_core_share share;
	(void)state;
	mp_core_share_start(&share);
	assert_int_equal(mp_core_share_free(&share), 1);
}

/* 50 ms asleep: the thread waits for a CPU only when it wakes (a time slice at worst),
 * far under the fifth of the stretch that would say the cores are taken. */
static void stretch_asleep_says_free(void **state)
{
	struct mp_core_share share;
	(void)state;
	mp_core_share_start(&share);
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	assert_int_equal(mp_core_share_free(&share), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_stretch_says_free),
		cmocka_unit_test(stretch_asleep_says_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
