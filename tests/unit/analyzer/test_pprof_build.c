/* test_pprof_build.c: a synthetic trace into a pprof profile and through the encoder.
 *
 * The trace's objects do not exist on this machine, so frames are named module+0xoffset:
 * what is checked is the profile's shape (samples per stack, locations shared between
 * stacks, mappings with the executable first, addresses of the call instructions), its
 * values, the windows of `run --push` over a trace that grows, and that the gzipped
 * encoding decodes back to the same profile with protobuf-c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libdeflate.h>
#include <profile.pb-c.h>

#include "pprof_encode.h"
#include "trace_builder.h"

#define EXE "/opt/shop/bin/cart"
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBC_BASE 0x7f0000000000ull

/* Modules, stacks and a first batch of events; `more` adds a later batch (the same trace
 * grown, as run --push sees it at its next round). */
static void build_trace(const char *path, int more, int running)
{
	static const uint8_t exe_id[] = { 0xab, 0xcd, 0x01 };
	uint64_t in_exe[] = { 0x401234, 0x401100 };
	uint64_t in_libc[] = { LIBC_BASE + 0x1000, 0x401100 };
	struct mp_tb *tb = mp_tb_new();
	mp_tb_set_exe(tb, EXE);
	if (running)
		mp_tb_header(tb)->end_state = MP_END_RUNNING;
	mp_tb_module(tb, 1, 0, LIBC_BASE, LIBC_BASE + 0x100000, LIBC_BASE, LIBC, NULL, 0);
	mp_tb_module(tb, 1, 0, 0x400000, 0x500000, 0, EXE, exe_id, sizeof(exe_id));
	mp_tb_stack(tb, 1, 7, 0, in_exe, 2);
	mp_tb_stack(tb, 1, 8, 0, in_libc, 2);
	mp_tb_malloc(tb, 1, 100, 0x10000, 100, 7);
	mp_tb_malloc(tb, 1, 110, 0x20000, 200, 7);
	mp_tb_malloc(tb, 1, 120, 0x30000, 1000, 8);
	mp_tb_free(tb, 1, 130, 0x20000);
	mp_tb_malloc(tb, 1, 140, 0x40000, 5, 0); /* no stack */
	if (more) {
		mp_tb_malloc(tb, 1, 200, 0x50000, 300, 7);
		mp_tb_free(tb, 1, 210, 0x30000);
	}
	assert_int_equal(mp_tb_write(tb, path), 0);
	mp_tb_destroy(tb);
}

static void build(const char *path, const struct mp_pprof_options *options,
		  struct mp_pprof *profile)
{
	char err[256];
	if (mp_pprof_from_trace(path, options, profile, err, sizeof(err)) != 0)
		fail_msg("mp_pprof_from_trace: %s", err);
}

/* The sample whose first location is at `address` (a call instruction), or NULL. */
static const struct mp_pprof_sample *sample_at(const struct mp_pprof *profile, uint64_t address)
{
	for (size_t i = 0; i < profile->sample_count; i++) {
		const struct mp_pprof_sample *sample = &profile->samples[i];
		uint64_t id = profile->location_ids[sample->first_location];
		if (profile->locations[id - 1].address == address)
			return sample;
	}
	return NULL;
}

static const char *function_of(const struct mp_pprof *profile, uint64_t location_id)
{
	const struct mp_pprof_location *location = &profile->locations[location_id - 1];
	const struct mp_pprof_line *line = &profile->lines[location->first_line];
	return profile->strings.items[profile->functions[line->function_id - 1].name];
}

static void stacks_become_samples_with_shared_locations(void **state)
{
	struct mp_pprof_options options = { .pick = MP_PICK_DEFAULT };
	struct mp_pprof profile;
	(void)state;
	build_trace("whole.trace", 1, 0);
	build("whole.trace", &options, &profile);
	assert_int_equal(profile.type_count, 4); /* no snapshot in the trace */
	assert_int_equal(profile.sample_count, 3);
	/* 0x401233, 0x401100 - 1 shared, libc's, and the one of "[no stack]". */
	assert_int_equal(profile.location_count, 4);
	const struct mp_pprof_sample *exe = sample_at(&profile, 0x401233);
	const struct mp_pprof_sample *libc = sample_at(&profile, LIBC_BASE + 0x0fff);
	assert_non_null(exe);
	assert_non_null(libc);
	assert_int_equal(exe->location_count, 2);
	assert_int_equal(profile.location_ids[exe->first_location + 1],
			 profile.location_ids[libc->first_location + 1]);
	assert_int_equal(exe->values[MP_PPROF_ALLOC_OBJECTS], 3);
	assert_int_equal(exe->values[MP_PPROF_ALLOC_SPACE], 600);
	assert_int_equal(exe->values[MP_PPROF_INUSE_OBJECTS], 2);
	assert_int_equal(exe->values[MP_PPROF_INUSE_SPACE], 400);
	assert_int_equal(libc->values[MP_PPROF_ALLOC_SPACE], 1000);
	assert_int_equal(libc->values[MP_PPROF_INUSE_SPACE], 0);
	assert_string_equal(function_of(&profile, profile.location_ids[libc->first_location]),
			    "libc.so.6+0x1000");
	const struct mp_pprof_sample *none = sample_at(&profile, 0);
	assert_non_null(none);
	assert_string_equal(function_of(&profile, profile.location_ids[none->first_location]),
			    "[no stack]");
	assert_int_equal(none->values[MP_PPROF_INUSE_SPACE], 5);
	/* The executable first, with its build-id in hex; then libc. */
	assert_int_equal(profile.mapping_count, 2);
	assert_string_equal(profile.strings.items[profile.mappings[0].filename], EXE);
	assert_string_equal(profile.strings.items[profile.mappings[0].build_id], "abcd01");
	assert_string_equal(profile.strings.items[profile.mappings[1].filename], LIBC);
	assert_int_equal(profile.pid, 4242);
	assert_string_equal(profile.program, "cart");
	assert_true(profile.ended);
	mp_pprof_free(&profile);
}

/* Two rounds of run --push over a trace that grew in between. */
static void windows_count_each_allocation_once(void **state)
{
	struct mp_pprof_baseline *baseline = mp_pprof_baseline_new();
	struct mp_pprof_options options = { .pick = MP_PICK_DEFAULT, .baseline = baseline };
	struct mp_pprof first, second;
	(void)state;
	build_trace("grow.trace", 0, 1);
	build("grow.trace", &options, &first);
	assert_false(first.ended);
	const struct mp_pprof_sample *exe = sample_at(&first, 0x401233);
	assert_int_equal(exe->values[MP_PPROF_ALLOC_SPACE], 300);
	assert_int_equal(exe->values[MP_PPROF_INUSE_SPACE], 100);
	options.window_start_ns = first.end_monotonic_ns;
	build_trace("grow.trace", 1, 0);
	build("grow.trace", &options, &second);
	assert_true(second.ended);
	exe = sample_at(&second, 0x401233);
	assert_int_equal(exe->values[MP_PPROF_ALLOC_OBJECTS], 1);
	assert_int_equal(exe->values[MP_PPROF_ALLOC_SPACE], 300);
	assert_int_equal(exe->values[MP_PPROF_INUSE_SPACE], 400);
	/* libc's stack allocated nothing in the window and has nothing live: no sample. */
	assert_null(sample_at(&second, LIBC_BASE + 0x0fff));
	assert_int_equal(second.time_nanos, first.time_nanos + first.duration_nanos);
	mp_pprof_free(&first);
	mp_pprof_free(&second);
	mp_pprof_baseline_free(baseline);
}

/* gunzip and unpack, as a reader of the file would. */
static Perftools__Profiles__Profile *decode(const uint8_t *data, size_t size)
{
	size_t inflated_size = (size_t)data[size - 4] | (size_t)data[size - 3] << 8 |
			       (size_t)data[size - 2] << 16 | (size_t)data[size - 1] << 24, got;
	uint8_t *raw = malloc(inflated_size);
	struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
	assert_int_equal(libdeflate_gzip_decompress(inflater, data, size, raw, inflated_size, &got),
			 LIBDEFLATE_SUCCESS);
	libdeflate_free_decompressor(inflater);
	Perftools__Profiles__Profile *decoded = perftools__profiles__profile__unpack(NULL, got, raw);
	free(raw);
	assert_non_null(decoded);
	return decoded;
}

static void encoding_decodes_to_the_same_profile(void **state)
{
	struct mp_pprof_options options = { .pick = MP_PICK_DEFAULT };
	struct mp_pprof profile;
	uint8_t *data;
	size_t size;
	(void)state;
	build_trace("encode.trace", 1, 0);
	build("encode.trace", &options, &profile);
	assert_int_equal(mp_pprof_encode(&profile, &data, &size), 0);
	Perftools__Profiles__Profile *decoded = decode(data, size);
	assert_int_equal(decoded->n_sample_type, 4);
	assert_string_equal(decoded->string_table[decoded->sample_type[3]->type], "inuse_space");
	assert_string_equal(decoded->string_table[decoded->sample_type[3]->unit], "bytes");
	assert_string_equal(decoded->string_table[decoded->period_type->type], "space");
	assert_int_equal(decoded->n_sample, profile.sample_count);
	for (size_t i = 0; i < profile.sample_count; i++) {
		const struct mp_pprof_sample *sample = &profile.samples[i];
		assert_int_equal(decoded->sample[i]->n_location_id, sample->location_count);
		assert_int_equal(decoded->sample[i]->value[1], sample->values[MP_PPROF_ALLOC_SPACE]);
		assert_int_equal(decoded->sample[i]->value[3], sample->values[MP_PPROF_INUSE_SPACE]);
	}
	assert_int_equal(decoded->n_location, profile.location_count);
	assert_int_equal(decoded->location[0]->id, 1);
	assert_int_equal(decoded->n_mapping, 2);
	assert_int_equal(decoded->mapping[0]->memory_start, 0x400000);
	assert_int_equal(decoded->n_comment, profile.comment_count);
	assert_int_equal(decoded->time_nanos, profile.time_nanos);
	perftools__profiles__profile__free_unpacked(decoded, NULL);
	free(data);
	mp_pprof_free(&profile);
}

static void a_snapshot_asked_for_must_be_there(void **state)
{
	struct mp_pprof_options options = { .pick = MP_PICK_EXIT, .pick_required = 1 };
	struct mp_pprof profile;
	char err[256];
	(void)state;
	build_trace("nosnap.trace", 0, 0);
	assert_true(mp_pprof_from_trace("nosnap.trace", &options, &profile, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "snapshot"));
	assert_true(mp_pprof_from_trace("missing.trace", &options, &profile, err, sizeof(err)) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stacks_become_samples_with_shared_locations),
		cmocka_unit_test(windows_count_each_allocation_once),
		cmocka_unit_test(encoding_decodes_to_the_same_profile),
		cmocka_unit_test(a_snapshot_asked_for_must_be_there),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
