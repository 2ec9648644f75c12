/* same_event.h: cmocka's check that two events agree field by field, for the tests that
 * compare one way of reading a trace with another. Include after <cmocka.h>. */
#ifndef MEMPROF_TESTS_SAME_EVENT_H
#define MEMPROF_TESTS_SAME_EVENT_H

#include "trace_read.h"

static inline void assert_same_event(const struct mp_event *got, const struct mp_event *want)
{
	assert_int_equal(got->tag, want->tag);
	assert_int_equal(got->thread_serial, want->thread_serial);
	assert_int_equal(got->tid, want->tid);
	assert_int_equal(got->time_ns, want->time_ns);
	assert_int_equal(got->time_before_ns, want->time_before_ns);
	assert_int_equal(got->addr, want->addr);
	assert_int_equal(got->old_addr, want->old_addr);
	assert_int_equal(got->size, want->size);
	assert_int_equal(got->old_size, want->old_size);
	assert_int_equal(got->stack_id, want->stack_id);
	assert_int_equal(got->failed_function, want->failed_function);
	assert_int_equal(got->prot, want->prot);
	assert_int_equal(got->flags, want->flags);
	assert_int_equal(got->fd, want->fd);
	assert_int_equal(got->offset, want->offset);
}

#endif
