/* test_single_thread.c: glibc's one-thread flag as single_thread.c keeps it (set again
 * after a thread of memprof's starts, only from the program's thread of a full trace;
 * cleared around a fork and set again unless a thread appeared; given up for good), and
 * memprof's lock (base.h's mp_mutex), which must stay a lock while that flag is set: in
 * glibc 2.36 a pthread_mutex taken while the flag says one thread is a plain store.
 * The flag single_thread.c is given here is this test's own char: the process's real
 * one is written too (the executable's copy), as for a program that reads it. */
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <time.h>

#include <cmocka.h>

#include "base.h"

#define LOCKERS 3
#define LOCKS_EACH 200000

static char fake_flag;
static int glibc_checked;


static int setup(void **state)
{
	(void)state;
	/* The flag is kept on the glibc whose readers were checked (single_thread.c). */
	glibc_checked = strcmp(gnu_get_libc_version(), "2.36") == 0;
	fake_flag = 1;
	mp_config.sample_bytes = 0;
	mp_state_thread.own = 0;
	mp_single_thread_found(&fake_flag);
	return 0;
}

static void test_set_again_only_from_the_program_thread_of_a_full_trace(void **state)
{
	(void)state;
	if (!glibc_checked)
		skip();
	mp_state_thread.own = 1;
	assert_int_equal(mp_single_thread_before_start(), 0);
	mp_state_thread.own = 0;
	mp_config.sample_bytes = 65536;
	assert_int_equal(mp_single_thread_before_start(), 0);
	mp_config.sample_bytes = 0;
	fake_flag = 0; /* the program started a thread */
	assert_int_equal(mp_single_thread_before_start(), 0);
	assert_int_equal(mp_single_thread_kept(), 0);

	fake_flag = 1;
	int keep = mp_single_thread_before_start();
	assert_int_equal(keep, 1);
	fake_flag = 0; /* what pthread_create does */
	__libc_single_threaded = 0;
	mp_single_thread_after_start(keep);
	assert_int_equal(fake_flag, 1);
	assert_int_equal(__libc_single_threaded, 1);
	assert_int_equal(mp_single_thread_kept(), 1);
}

/* mp_single_thread_fork_begin, with the flag kept: it counts this process's threads
 * and clears the flag for the fork. */
static int fork_begun(void)
{
	int before = mp_single_thread_fork_begin();
	assert_true(before >= 1);
	assert_int_equal(fake_flag, 0);
	assert_int_equal(__libc_single_threaded, 0);
	return before;
}

static void test_a_fork_clears_it_and_the_parent_gets_it_back(void **state)
{
	(void)state;
	if (!glibc_checked)
		skip();
	int before = fork_begun();
	mp_single_thread_fork_end(before, 0);
	assert_int_equal(fake_flag, 1);
	assert_int_equal(__libc_single_threaded, 1);
}

static void *sleeper(void *arg)
{
	struct timespec nap = { 0, 300 * 1000 * 1000 };
	nanosleep(&nap, NULL);
	return arg;
}

static void test_a_thread_started_during_the_fork_keeps_it_clear(void **state)
{
	(void)state;
	if (!glibc_checked)
		skip();
	int before = fork_begun();
	pthread_t thread; /* as a fork handler of the program's could */
	assert_int_equal(pthread_create(&thread, NULL, sleeper, NULL), 0);
	mp_single_thread_fork_end(before, 0);
	assert_int_equal(fake_flag, 0);
	pthread_join(thread, NULL);
	fake_flag = 1;
}

static void test_the_child_starts_afresh(void **state)
{
	(void)state;
	if (!glibc_checked)
		skip();
	int before = fork_begun();
	mp_single_thread_fork_end(before, 1);
	assert_int_equal(fake_flag, 1);
	assert_int_equal(mp_single_thread_kept(), 0); /* the child has no thread of memprof's */
	assert_int_equal(mp_single_thread_fork_begin(), 0);
	assert_int_equal(fake_flag, 1);
}

static void test_given_up_for_good(void **state)
{
	(void)state;
	if (!glibc_checked)
		skip();
	mp_single_thread_after_start(mp_single_thread_before_start());
	assert_int_equal(mp_single_thread_kept(), 1);
	mp_single_thread_give_up();
	assert_int_equal(fake_flag, 0);
	assert_int_equal(__libc_single_threaded, 0);
	assert_int_equal(mp_single_thread_kept(), 0);
	fake_flag = 1; /* even if the flag said one thread again */
	assert_int_equal(mp_single_thread_before_start(), 0);
	assert_int_equal(mp_single_thread_fork_begin(), 0);
	assert_int_equal(fake_flag, 1);
}

static struct mp_mutex counter_lock;
static long counter;

static void *locker(void *arg)
{
	for (int i = 0; i < LOCKS_EACH; i++) {
		mp_mutex_lock(&counter_lock);
		long seen = counter;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		counter = seen + 1;
		mp_mutex_unlock(&counter_lock);
	}
	return arg;
}

static void test_the_lock_excludes_with_glibc_flag_set(void **state)
{
	(void)state;
	pthread_t threads[LOCKERS];
	char *libc_flag = dlsym(RTLD_NEXT, "__libc_single_threaded");
	assert_non_null(libc_flag);
	for (int i = 0; i < LOCKERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, locker, NULL), 0);
	/* What memprof leaves after its own threads start: glibc's flag says one thread. */
	*libc_flag = 1;
	__libc_single_threaded = 1;
	for (int i = 0; i < LOCKERS; i++)
		pthread_join(threads[i], NULL);
	*libc_flag = 0;
	__libc_single_threaded = 0;
	assert_int_equal(counter, (long)LOCKERS * LOCKS_EACH);
	assert_int_equal(counter_lock.word, 0);
}

static void test_trylock_answers_busy_while_held(void **state)
{
	(void)state;
	struct mp_mutex lock = { 0 };
	assert_int_equal(mp_mutex_trylock(&lock), 0);
	assert_int_equal(mp_mutex_trylock(&lock), EBUSY);
	mp_mutex_unlock(&lock);
	assert_int_equal(mp_mutex_trylock(&lock), 0);
	mp_mutex_unlock(&lock);
	assert_int_equal(lock.word, 0);
}

int main(void)
{
	/* In this order: the flag's state carries from one to the next, and giving it up is
	 * for good. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_again_only_from_the_program_thread_of_a_full_trace),
		cmocka_unit_test(test_a_fork_clears_it_and_the_parent_gets_it_back),
		cmocka_unit_test(test_a_thread_started_during_the_fork_keeps_it_clear),
		cmocka_unit_test(test_the_child_starts_afresh),
		cmocka_unit_test(test_given_up_for_good),
		cmocka_unit_test(test_the_lock_excludes_with_glibc_flag_set),
		cmocka_unit_test(test_trylock_answers_busy_while_held),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
