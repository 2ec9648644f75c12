/* test_record.c: the recorder's encodings, decoded back field by field as trace_format.h
 * documents them, and stack interning (one STACK record per distinct stack). */
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "memprof/varint.h"
#include "modules.h"
#include "recorder.h"
#include "recorder_fixture.h"

struct decoded {
	int tag;
	uint64_t addr, old_addr, size, stack, prot, flags, offset, function;
	int64_t fd;
	uint64_t time, time_before;
};

struct decoded_chunk {
	struct decoded events[64];
	int event_count;
	uint32_t stack_ids[64];
	uint32_t stack_generations[64];
	uint32_t stack_frames[64];
	uint32_t stack_parents[64]; /* STACK_SHARED: the parent's id and the frames shared */
	uint32_t stack_shared[64];
	uint64_t stack_ips[64][MP_MAX_FRAMES_LIMIT]; /* whole, the shared ones filled in */
	int stack_count;
	int module_count;
	uint32_t last_module_generation;
};

static uint64_t get_u(const uint8_t **at, const uint8_t *end)
{
	uint64_t value = 0;
	assert_int_equal(mp_get_u(at, end, &value), 0);
	return value;
}

static int64_t get_s(const uint8_t **at, const uint8_t *end)
{
	int64_t value = 0;
	assert_int_equal(mp_get_s(at, end, &value), 0);
	return value;
}

static void decode_extended(int tag, const uint8_t *at, const uint8_t *end,
			    struct decoded_chunk *out)
{
	if (tag == MP_REC_STACK || tag == MP_REC_STACK_SHARED) {
		int n = out->stack_count++;
		out->stack_ids[n] = (uint32_t)get_u(&at, end);
		out->stack_generations[n] = (uint32_t)get_u(&at, end);
		uint64_t frames = get_u(&at, end), shared = 0;
		assert_true(frames <= MP_MAX_FRAMES_LIMIT);
		out->stack_frames[n] = (uint32_t)frames;
		out->stack_parents[n] = 0;
		if (tag == MP_REC_STACK_SHARED) {
			out->stack_parents[n] = (uint32_t)get_u(&at, end);
			shared = get_u(&at, end);
			assert_true(shared >= 1 && shared <= frames);
		}
		out->stack_shared[n] = (uint32_t)shared;
		uint64_t ip = 0;
		for (uint64_t i = 0; i < frames - shared; i++) {
			ip += (uint64_t)get_s(&at, end);
			out->stack_ips[n][i] = ip;
		}
		/* The parent was written before, in this chunk here. */
		for (int p = 0; shared && p < n; p++) {
			if (out->stack_ids[p] != out->stack_parents[n])
				continue;
			assert_true(shared <= out->stack_frames[p]);
			memcpy(&out->stack_ips[n][frames - shared],
			       &out->stack_ips[p][out->stack_frames[p] - shared],
			       shared * sizeof(uint64_t));
		}
	} else if (tag == MP_REC_MODULE) {
		out->last_module_generation = (uint32_t)get_u(&at, end);
		out->module_count++;
		get_s(&at, end);
		get_u(&at, end);
		get_u(&at, end);
		uint64_t path = get_u(&at, end);
		assert_true(path > 0 && at + path <= end);
		at += path;
		uint64_t build_id = get_u(&at, end);
		at += build_id;
	}
	assert_ptr_equal(at, end); /* the body is exactly as long as its length says */
}

static void decode_event(int tag, const uint8_t **cursor, const uint8_t *end,
			 uint64_t *prev_addr, uint64_t *prev_time, struct decoded *event)
{
	const uint8_t *at = *cursor;
	memset(event, 0, sizeof(*event));
	event->tag = tag;
	if (tag == MP_REC_ALLOC_FAILED) {
		event->function = get_u(&at, end);
		event->size = get_u(&at, end);
		event->stack = get_u(&at, end);
	} else {
		event->addr = *prev_addr + (uint64_t)get_s(&at, end);
		*prev_addr = event->addr;
	}
	if (tag == MP_REC_REALLOC) {
		event->old_addr = event->addr;
		event->addr = event->old_addr + (uint64_t)get_s(&at, end);
		*prev_addr = event->addr;
		event->size = get_u(&at, end);
		event->stack = get_u(&at, end);
		event->time_before = *prev_time + get_u(&at, end);
		*prev_time = event->time_before;
	} else if (tag == MP_REC_MMAP) {
		event->size = get_u(&at, end);
		event->prot = get_u(&at, end);
		event->flags = get_u(&at, end);
		event->fd = get_s(&at, end);
		event->offset = get_u(&at, end);
		event->stack = get_u(&at, end);
	} else if (tag == MP_REC_MUNMAP) {
		event->size = get_u(&at, end);
	} else if (tag >= MP_REC_MALLOC && tag <= MP_REC_PVALLOC) {
		event->size = get_u(&at, end);
		event->stack = get_u(&at, end);
	} else if (tag != MP_REC_FREE && tag != MP_REC_ALLOC_FAILED) {
		fail_msg("unexpected tag %d", tag);
	}
	event->time = *prev_time + get_u(&at, end);
	*prev_time = event->time;
	*cursor = at;
}

/* Decodes the thread's current chunk as a reader would. */
static void decode_current(struct decoded_chunk *out)
{
	const struct mp_chunk_header *header = (const void *)mp_state_thread.chunk;
	const uint8_t *at = (const uint8_t *)header + header->header_size;
	const uint8_t *end = (const uint8_t *)header + header->used;
	uint64_t prev_addr = 0, prev_time = header->base_time_ns;
	memset(out, 0, sizeof(*out));
	while (at < end) {
		int tag = *at++;
		if (tag >= MP_REC_EXTENDED) {
			uint64_t length = get_u(&at, end);
			assert_true(at + length <= end);
			decode_extended(tag, at, at + length, out);
			at += length;
		} else {
			decode_event(tag, &at, end, &prev_addr, &prev_time,
				     &out->events[out->event_count++]);
		}
	}
	assert_ptr_equal(at, end);
}

__attribute__((noinline)) static void allocate_here(void *addr, size_t size)
{
	mp_record_alloc_done(MP_REC_MALLOC, addr, size);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void allocate_there(void *addr, size_t size)
{
	mp_record_alloc_done(MP_REC_CALLOC, addr, size);
	__asm__ volatile("" ::: "memory");
}

static void test_events_encode_as_documented(void **state)
{
	(void)state;
	struct decoded_chunk chunk;
	void *base = (void *)(uintptr_t)0x7f0000100000ull;
	uint64_t before = mp_clock_now_ns();
	allocate_here(base, 100);
	mp_record_free(base);
	mp_record_realloc(NULL, (char *)base + 64, 300, mp_clock_now_ns(), 0);
	mp_record_realloc((char *)base + 64, (char *)base - 4096, 5000, mp_clock_now_ns(), 0);
	mp_record_failed(MP_REC_MALLOC, 1ull << 60);
	mp_record_mmap((void *)(uintptr_t)0x7f0000400000ull, 8192, 3, 0x22, -1, 0);
	mp_record_munmap((void *)(uintptr_t)0x7f0000401000ull, 4096);
	uint64_t after = mp_clock_now_ns();
	decode_current(&chunk);

	assert_true(chunk.event_count >= 7);
	const struct decoded *events = &chunk.events[chunk.event_count - 7];
	assert_int_equal(events[0].tag, MP_REC_MALLOC);
	assert_int_equal(events[0].addr, (uintptr_t)base);
	assert_int_equal(events[0].size, 100);
	assert_int_not_equal(events[0].stack, 0);
	assert_int_equal(events[1].tag, MP_REC_FREE);
	assert_int_equal(events[1].addr, (uintptr_t)base);
	assert_int_equal(events[2].tag, MP_REC_REALLOC);
	assert_int_equal(events[2].old_addr, 0);
	assert_int_equal(events[2].addr, (uintptr_t)base + 64);
	assert_int_equal(events[2].size, 300);
	assert_int_equal(events[3].old_addr, (uintptr_t)base + 64);
	assert_int_equal(events[3].addr, (uintptr_t)base - 4096);
	assert_int_equal(events[3].size, 5000);
	assert_true(events[3].time_before <= events[3].time);
	assert_int_equal(events[4].tag, MP_REC_ALLOC_FAILED);
	assert_int_equal(events[4].function, MP_REC_MALLOC);
	assert_int_equal(events[4].size, 1ull << 60);
	assert_int_equal(events[5].tag, MP_REC_MMAP);
	assert_int_equal(events[5].addr, 0x7f0000400000ull);
	assert_int_equal(events[5].size, 8192);
	assert_int_equal(events[5].prot, 3);
	assert_int_equal(events[5].flags, 0x22);
	assert_int_equal(events[5].fd, -1);
	assert_int_equal(events[6].tag, MP_REC_MUNMAP);
	assert_int_equal(events[6].addr, 0x7f0000401000ull);
	assert_int_equal(events[6].size, 4096);
	/* Times are in order and inside the window the calls ran in. */
	for (int i = 0; i < 7; i++) {
		assert_true(events[i].time >= before && events[i].time <= after);
		if (i > 0)
			assert_true(events[i].time >= events[i - 1].time);
	}
}

static int compare_ids(const void *left, const void *right)
{
	uint32_t a = *(const uint32_t *)left, b = *(const uint32_t *)right;
	return a < b ? -1 : a > b;
}

static void test_a_stack_is_written_once_and_reused(void **state)
{
	(void)state;
	struct decoded_chunk chunk;
	/* A fresh chunk so that the records of this test are the only ones. */
	uint8_t *at = mp_chunk_reserve(&mp_state_thread,
				       (size_t)(mp_state_thread.limit - mp_state_thread.pos) + 1);
	assert_non_null(at);
	/* volatile: an unrolled loop would be three call sites, hence three stacks. */
	for (volatile int i = 0; i < 3; i++)
		allocate_here((void *)(uintptr_t)(0x1000 * (i + 1)), 10);
	allocate_there((void *)(uintptr_t)0x9000, 20);
	decode_current(&chunk);
	assert_int_equal(chunk.event_count, 4);
	/* The three calls from one place share one id; the other place has its own. */
	assert_int_equal(chunk.events[0].stack, chunk.events[1].stack);
	assert_int_equal(chunk.events[1].stack, chunk.events[2].stack);
	assert_int_not_equal(chunk.events[3].stack, chunk.events[0].stack);
	/* Both stacks are new (this call site is), so each was written once, first. */
	assert_int_equal(chunk.stack_count, 2);
	assert_int_equal(chunk.stack_ids[0], chunk.events[0].stack);
	assert_int_equal(chunk.stack_ids[1], chunk.events[3].stack);
	assert_true(chunk.stack_frames[0] >= 3); /* the recorder, allocate_here, this test... */
	/* The second shares with the first what lies above the two call sites (this test and
	 * its callers), and writes only its own frames: allocate_there's. */
	assert_int_equal(chunk.stack_parents[1], chunk.stack_ids[0]);
	assert_true(chunk.stack_shared[1] >= 2);
	assert_true(chunk.stack_shared[1] < chunk.stack_frames[1]);
	uint32_t shared = chunk.stack_shared[1];
	assert_memory_equal(&chunk.stack_ips[1][chunk.stack_frames[1] - shared],
			    &chunk.stack_ips[0][chunk.stack_frames[0] - shared], shared * sizeof(uint64_t));
	/* All it can share: the frames written differ from the first's just below. */
	assert_int_not_equal(chunk.stack_ips[1][chunk.stack_frames[1] - shared - 1],
			     chunk.stack_ips[0][chunk.stack_frames[0] - shared - 1]);
}

/* The hash sums of the outermost 2j frames of ips[0..count) at j, as a walk gives them. */
static void outer_sums(void *const *ips, int count, struct mp_stack_hash_sum *sums)
{
	sums[0] = (struct mp_stack_hash_sum){ 0, 0 };
	for (int j = 0; 2 * j + 2 <= count; j++) {
		sums[j + 1] = sums[j];
		mp_stack_hash_pair(&sums[j + 1], 2 * j, (uint64_t)(uintptr_t)ips[count - 1 - 2 * j],
				   (uint64_t)(uintptr_t)ips[count - 2 - 2 * j]);
	}
}

/* Every stack of 14 frames made of two return addresses (16384 of them, as recursion that
 * alternates two call sites makes) must get an id of its own: the interning table keys
 * stacks by a 128-bit hash, and a hash linear in the frames' positions merged them. */
static void test_stacks_alternating_two_frames_stay_distinct(void **state)
{
	(void)state;
	enum { DEPTH = 14, STACKS = 1 << DEPTH };
	static uint32_t ids[STACKS];
	void *ips[DEPTH];
	/* Two addresses outside libmemprof's own range, which interning would drop. */
	uintptr_t site[2] = { (uintptr_t)&allocate_here + 0x10, (uintptr_t)&allocate_there + 0x10 };
	for (uint32_t pattern = 0; pattern < STACKS; pattern++) {
		for (int i = 0; i < DEPTH; i++)
			ips[i] = (void *)site[(pattern >> i) & 1];
		mp_state_thread.busy = 1;
		ids[pattern] = mp_stacks_intern(&mp_state_thread, ips, DEPTH, NULL);
		mp_state_thread.busy = 0;
		assert_int_not_equal(ids[pattern], 0);
	}
	for (uint32_t pattern = 0; pattern < STACKS; pattern++) {
		for (int i = 0; i < DEPTH; i++)
			ips[i] = (void *)site[(pattern >> i) & 1];
		/* Interned again: found, with the same id; the same with the hash sums of its
		 * outer frames that a walk gives (the last 13 frames too, an odd count). */
		uint64_t slow = mp_stacks_slow_lookups;
		assert_int_equal(mp_stacks_intern(&mp_state_thread, ips, DEPTH, NULL), ids[pattern]);
		struct mp_stack_hash_sum sums[DEPTH / 2 + 1];
		outer_sums(ips, DEPTH, sums);
		assert_int_equal(mp_stacks_intern(&mp_state_thread, ips, DEPTH, sums), ids[pattern]);
		if (pattern % 64 == 0) {
			mp_state_thread.busy = 1;
			uint32_t odd = mp_stacks_intern(&mp_state_thread, ips + 1, DEPTH - 1, NULL);
			mp_state_thread.busy = 0;
			slow = mp_stacks_slow_lookups;
			outer_sums(ips + 1, DEPTH - 1, sums);
			assert_int_equal(mp_stacks_intern(&mp_state_thread, ips + 1, DEPTH - 1, sums), odd);
		}
		/* Found by the hash alone: the sums gave the same hash. */
		assert_int_equal(mp_stacks_slow_lookups, slow);
	}
	qsort(ids, STACKS, sizeof(ids[0]), compare_ids);
	for (uint32_t i = 1; i < STACKS; i++)
		assert_int_not_equal(ids[i], ids[i - 1]);
}

static void test_unload_starts_a_new_generation_of_stacks(void **state)
{
	(void)state;
	struct decoded_chunk chunk;
	allocate_here((void *)(uintptr_t)0x5000, 10);
	uint8_t *at = mp_chunk_reserve(&mp_state_thread,
				       (size_t)(mp_state_thread.limit - mp_state_thread.pos) + 1);
	assert_non_null(at);
	uint32_t generation = mp_modules_generation();
	mp_modules_unloaded();
	assert_int_equal(mp_modules_generation(), generation + 1);
	allocate_here((void *)(uintptr_t)0x6000, 10);
	decode_current(&chunk);
	/* Same call site, but interned again under the new generation, after a module map
	 * of that generation. */
	assert_int_equal(chunk.stack_count, 1);
	assert_int_equal(chunk.stack_generations[0], generation + 1);
	assert_true(chunk.module_count > 0);
	assert_int_equal(chunk.last_module_generation, generation + 1);
	assert_int_equal(chunk.events[0].stack, chunk.stack_ids[0]);
}

static void test_recursion_flag_keeps_nested_calls_out(void **state)
{
	(void)state;
	struct decoded_chunk before, after;
	decode_current(&before);
	mp_state_thread.busy = 1; /* as while the recorder itself runs */
	mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)0x7000, 1);
	if (mp_record_free_wanted((void *)(uintptr_t)0x7000, NULL))
		mp_record_free((void *)(uintptr_t)0x7000);
	mp_state_thread.busy = 0;
	decode_current(&after);
	assert_int_equal(after.event_count, before.event_count);
}

/* A stack whose frames all lie in objects of the module map written last needs no check
 * of the loader; one with a frame elsewhere does, and every stack does after an unload,
 * until the map of the new generation is written. */
static void test_module_map_covers_known_code(void **state)
{
	(void)state;
	int local = 0;
	mp_modules_sync(&mp_state_thread);
	void *code[2] = { (void *)&test_module_map_covers_known_code, (void *)&getpid };
	assert_true(mp_modules_cover(code, 2));
	void *mixed[2] = { code[0], &local };
	assert_false(mp_modules_cover(mixed, 2));
	mp_modules_unloaded();
	assert_false(mp_modules_cover(code, 2));
	mp_modules_sync(&mp_state_thread);
	assert_true(mp_modules_cover(code, 2));
}

/* Whether SIGALRM is blocked while the loader calls back. */
static int note_alarm_blocked(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)info;
	(void)size;
	sigset_t now;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	*(int *)data = sigismember(&now, SIGALRM);
	return 1;
}

static int alarm_blocked_in_loader_call(void)
{
	int blocked = -1;
	mp_loader_iterate(note_alarm_blocked, &blocked);
	return blocked;
}

static void do_nothing(int sig)
{
	(void)sig;
}

/* recording.c's part of memprof's fatal handlers, which recording_signals.c installs and
 * these tests never raise (recording.c starts the whole recorder: not linked here). */
int mp_recording_fatal_begin(void)
{
	fail_msg("a fatal signal's handler ran");
	return 0;
}

void mp_recording_fatal_end(int sig, int checked, int own_room)
{
	(void)sig;
	(void)checked;
	(void)own_room;
}

/* memprof's calls of the loader hold signals once the program has a handler for one that
 * may interrupt any instruction (its jump out would leave the loader's lock held), not
 * for a fault's handler, and put the mask back after. */
static void test_loader_calls_hold_signals_once_the_program_handles_them(void **state)
{
	(void)state;
	struct sigaction action, old_segv, old_usr2;
	memset(&action, 0, sizeof(action));
	action.sa_handler = do_nothing;
	sigemptyset(&action.sa_mask);
	assert_int_equal(mp_recording_sigaction(SIGSEGV, &action, &old_segv), 0);
	assert_int_equal(alarm_blocked_in_loader_call(), 0);
	assert_int_equal(mp_recording_sigaction(SIGUSR2, &action, &old_usr2), 0);
	assert_int_equal(alarm_blocked_in_loader_call(), 1);
	sigset_t now;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	assert_false(sigismember(&now, SIGALRM));
	mp_recording_sigaction(SIGSEGV, &old_segv, NULL);
	mp_recording_sigaction(SIGUSR2, &old_usr2, NULL);
}

/* A record left half-written (a signal handler jumped out of the encoder): its address
 * and time already moved the thread's delta bases. After mp_chunk_resume the next record
 * decodes as itself, whether the chunk holds stacks (extended records) or not. */
static void test_resume_after_a_half_written_record(void **state)
{
	(void)state;
	struct decoded_chunk chunk;
	struct mp_thread *thread = &mp_state_thread;
	allocate_here((void *)(uintptr_t)0x5550000, 48);
	mp_record_free((void *)(uintptr_t)0x5551000);
	uint64_t committed_addr = thread->prev_addr, committed_time = thread->prev_time;
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	*at++ = MP_REC_FREE;
	at = mp_encode_addr(thread, at, 0x9990000);
	at = mp_encode_time(thread, at, committed_time + 1000000000);
	assert_int_not_equal(thread->prev_addr, committed_addr);
	assert_int_equal(mp_chunk_resume(thread), 0);
	assert_int_equal(thread->prev_addr, committed_addr);
	assert_int_equal(thread->prev_time, committed_time);
	mp_record_free((void *)(uintptr_t)0x5552000);
	decode_current(&chunk);
	const struct decoded *last = &chunk.events[chunk.event_count - 1];
	assert_int_equal(last->tag, MP_REC_FREE);
	assert_int_equal(last->addr, 0x5552000);
	assert_true(last->time >= committed_time && last->time < committed_time + 1000000000);
	assert_int_equal(chunk.events[chunk.event_count - 2].addr, 0x5551000);
}

/* A chunk whose bytes are not records cannot be resumed: the thread must not go on in it. */
static void test_resume_refuses_a_chunk_that_does_not_decode(void **state)
{
	(void)state;
	struct mp_thread *thread = &mp_state_thread;
	uint8_t *at = mp_chunk_reserve(thread, 4);
	memcpy(at, "\x01\xff\xff\xff", 4); /* a MALLOC whose address never ends */
	mp_chunk_commit(thread, at + 4);
	assert_int_equal(mp_chunk_resume(thread), -1);
	/* Later tests write records of their own: a fresh chunk. */
	assert_non_null(mp_chunk_reserve(thread, (size_t)(thread->limit - thread->pos) + 1));
}

/* recording_jumps.c's decision, without the jump itself. */
static const char *record_path;

static uint32_t dropped_now(void)
{
	return ((const struct mp_chunk_header *)mp_state_thread.chunk)->dropped_events;
}

/* The recorder busy in this frame, deeper than env's, memprof holding `held`. */
static __attribute__((noinline)) void jump_from_here(struct __jmp_buf_tag *env, unsigned held)
{
	mp_state_thread.busy = mp_sys_stack_pointer();
	mp_state_thread.held_locks = held;
	mp_recording_jump(env);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void env_here(struct __jmp_buf_tag *env)
{
	if (sigsetjmp(env, 0))
		abort(); /* never jumped to */
}

/* A handler's jump to a frame further out than the recorder's entry leaves the recorder
 * for good: the thread is no longer busy and its lost event is counted; one where memprof
 * held a lock leaves it busy, and the trace says a thread stopped; one to a frame further
 * in (within the handler) changes nothing. */
static void test_jump_out_of_the_recorder(void **state)
{
	(void)state;
	struct mp_thread *thread = &mp_state_thread;
	allocate_here((void *)(uintptr_t)0x5560000, 16); /* the stack's bounds are known */
	sigjmp_buf outer;
	if (sigsetjmp(outer, 0))
		abort(); /* never jumped to */
	uint32_t dropped = dropped_now();
	jump_from_here(outer, 0);
	assert_int_equal(thread->busy, 0);
	assert_int_equal(dropped_now(), dropped + 1);

	sigjmp_buf inner;
	thread->busy = mp_sys_stack_pointer();
	uintptr_t entry = thread->busy;
	env_here(inner);
	mp_recording_jump(inner);
	assert_int_equal(thread->busy, entry);
	thread->busy = 0;

	struct fixture_file file = fixture_read(record_path);
	assert_false(((const struct mp_file_header *)file.data)->flags & MP_TRACE_THREAD_STOPPED);
	free(file.data);
	jump_from_here(outer, MP_LOCK_SNAPSHOT);
	assert_int_not_equal(thread->busy, 0);
	file = fixture_read(record_path);
	assert_true(((const struct mp_file_header *)file.data)->flags & MP_TRACE_THREAD_STOPPED);
	free(file.data);
	thread->busy = 0;
	thread->held_locks = 0;
}

int main(void)
{
	const char *path = fixture_start();
	record_path = path;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_encode_as_documented),
		cmocka_unit_test(test_a_stack_is_written_once_and_reused),
		cmocka_unit_test(test_stacks_alternating_two_frames_stay_distinct),
		cmocka_unit_test(test_unload_starts_a_new_generation_of_stacks),
		cmocka_unit_test(test_recursion_flag_keeps_nested_calls_out),
		cmocka_unit_test(test_resume_after_a_half_written_record),
		cmocka_unit_test(test_resume_refuses_a_chunk_that_does_not_decode),
		cmocka_unit_test(test_jump_out_of_the_recorder),
		cmocka_unit_test(test_module_map_covers_known_code),
		cmocka_unit_test(test_loader_calls_hold_signals_once_the_program_handles_them),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	rmdir(fixture_dir);
	return failed;
}
