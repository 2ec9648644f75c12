/* test_pprof.c: `memprof pprof` holds the reports' own figures, in the form pprof expects.
 *
 * Programs of tests/progs run under libmemprof.so; the profile `memprof pprof` writes is
 * gunzipped and decoded here with the protobuf-c code generated from profile.proto, and
 * compared with what `memprof report`, `flamegraph`, `memory` say of the same trace:
 * totals per sample type, the same per innermost function, inlined frames as lines of one
 * location (innermost first), demangled C++ names, a sampled trace's estimates, and the
 * mappings (main binary first, build-ids, addresses inside them). cli_pprof.sh checks the
 * same files with protoc and Go's pprof, and the push to a server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <jansson.h>
#include <libdeflate.h>
#include <profile.pb-c.h>

#include "harness.h"

typedef Perftools__Profiles__Profile Profile;

/* Runs PROG ARGS with the extra environment; it must exit 0 and write one trace. */
static void run_prog(const char *prog, const char *const *args, const char *const *env,
		     char trace[PATH_MAX])
{
	struct harness_run run;
	assert_int_equal(harness_run(prog, args, env, &run), 0);
	if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0)
		fail_msg("%s: status %#x; stderr: %s", prog, run.status, run.stderr_text);
	assert_int_equal(run.trace_count, 1);
	snprintf(trace, PATH_MAX, "%s", run.traces[0]);
}

/* Reads a whole file; fails the test if it cannot. */
static uint8_t *read_file(const char *path, size_t *size)
{
	struct stat st;
	FILE *in = fopen(path, "rb");
	if (!in || fstat(fileno(in), &st) != 0)
		fail_msg("cannot read %s", path);
	uint8_t *data = malloc((size_t)st.st_size + 1);
	assert_non_null(data);
	*size = fread(data, 1, (size_t)st.st_size, in);
	fclose(in);
	assert_int_equal(*size, (size_t)st.st_size);
	return data;
}

/* The profile in a gzipped file, decoded (gzip's trailer gives the size inflated). */
static Profile *load_profile(const char *path)
{
	size_t size, inflated_size, got = 0;
	uint8_t *gz = read_file(path, &size);
	assert_true(size > 18 && gz[0] == 0x1f && gz[1] == 0x8b);
	inflated_size = (size_t)gz[size - 4] | (size_t)gz[size - 3] << 8 |
			(size_t)gz[size - 2] << 16 | (size_t)gz[size - 1] << 24;
	uint8_t *raw = malloc(inflated_size ? inflated_size : 1);
	struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
	assert_int_equal(libdeflate_gzip_decompress(inflater, gz, size, raw, inflated_size, &got),
			 LIBDEFLATE_SUCCESS);
	libdeflate_free_decompressor(inflater);
	Profile *profile = perftools__profiles__profile__unpack(NULL, got, raw);
	assert_non_null(profile);
	free(gz);
	free(raw);
	return profile;
}

/* `memprof pprof OPTIONS TRACE -o TRACE.pb.gz`, which must exit 0, decoded. */
static Profile *pprof_of(const char *options, const char *trace)
{
	char args[PATH_MAX * 3], out_path[PATH_MAX + 16], *out;
	snprintf(out_path, sizeof(out_path), "%s.pb.gz", trace);
	snprintf(args, sizeof(args), "pprof %s '%s' -o '%s'", options, trace, out_path);
	int code = harness_memprof(args, &out);
	free(out);
	if (code != 0)
		fail_msg("memprof %s: exit code %d", args, code);
	return load_profile(out_path);
}

static const char *string_at(const Profile *profile, int64_t index)
{
	assert_true(index >= 0 && (size_t)index < profile->n_string_table);
	return profile->string_table[index];
}

/* The position of sample type `name` (its unit checked), or -1 if absent. */
static int type_index(const Profile *profile, const char *name)
{
	for (size_t i = 0; i < profile->n_sample_type; i++)
		if (strcmp(string_at(profile, profile->sample_type[i]->type), name) == 0)
			return (int)i;
	return -1;
}

static int64_t total(const Profile *profile, const char *type)
{
	int index = type_index(profile, type);
	if (index < 0)
		fail_msg("no sample type %s", type);
	int64_t sum = 0;
	for (size_t i = 0; i < profile->n_sample; i++)
		sum += profile->sample[i]->value[index];
	return sum;
}

static const Perftools__Profiles__Location *location_of(const Profile *profile, uint64_t id)
{
	assert_true(id >= 1 && id <= profile->n_location);
	assert_int_equal(profile->location[id - 1]->id, id);
	return profile->location[id - 1];
}

static const char *function_name(const Profile *profile, uint64_t id)
{
	assert_true(id >= 1 && id <= profile->n_function);
	assert_int_equal(profile->function[id - 1]->id, id);
	return string_at(profile, profile->function[id - 1]->name);
}

/* The innermost function of a sample: its first location's first line; "?" for a frame
 * without a symbol (named module+0xoffset). */
static const char *leaf_function(const Profile *profile, const Perftools__Profiles__Sample *sample)
{
	assert_true(sample->n_location_id > 0);
	const Perftools__Profiles__Location *location = location_of(profile, sample->location_id[0]);
	assert_true(location->n_line > 0);
	const char *name = function_name(profile, location->line[0]->function_id);
	return strstr(name, "+0x") ? "?" : name;
}

static int64_t num(json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	if (!json_is_integer(value))
		fail_msg("key '%s' is not an integer", key);
	return json_integer_value(value);
}

/* Adds value to the entry `key` of a JSON object of integers. */
static void add_to(json_t *sums, const char *key, int64_t value)
{
	json_t *old = json_object_get(sums, key);
	json_object_set_new(sums, key, json_integer((old ? json_integer_value(old) : 0) + value));
}

/* The sum of sample type `type` over the samples whose stack has `function`. */
static int64_t pprof_through(const Profile *profile, const char *type, const char *function)
{
	int index = type_index(profile, type);
	int64_t sum = 0;
	for (size_t i = 0; i < profile->n_sample; i++) {
		const Perftools__Profiles__Sample *sample = profile->sample[i];
		int through = 0;
		for (size_t l = 0; l < sample->n_location_id; l++) {
			const Perftools__Profiles__Location *location =
				location_of(profile, sample->location_id[l]);
			for (size_t k = 0; k < location->n_line; k++)
				through |= strcmp(function_name(profile, location->line[k]->function_id),
						  function) == 0;
		}
		sum += through ? sample->value[index] : 0;
	}
	return sum;
}

/* Per innermost function, the sum of sample type `type` (zeros left out). */
static json_t *pprof_by_leaf(const Profile *profile, const char *type)
{
	int index = type_index(profile, type);
	json_t *sums = json_object();
	for (size_t i = 0; i < profile->n_sample; i++)
		if (profile->sample[i]->value[index])
			add_to(sums, leaf_function(profile, profile->sample[i]),
			       profile->sample[i]->value[index]);
	return sums;
}

/* The same from a JSON list of entries {key: value, "stack": [frames]}. */
static json_t *json_by_leaf(json_t *entries, const char *key)
{
	json_t *sums = json_object(), *entry;
	size_t index;
	json_array_foreach(entries, index, entry) {
		const char *name = json_string_value(
			json_object_get(json_array_get(json_object_get(entry, "stack"), 0), "function"));
		if (num(entry, key))
			add_to(sums, name ? name : "?", num(entry, key));
	}
	return sums;
}

static void assert_same_sums(json_t *expected, json_t *got, const char *what)
{
	if (!json_equal(expected, got))
		fail_msg("%s by function: expected %s, pprof has %s", what,
			 json_dumps(expected, JSON_COMPACT | JSON_SORT_KEYS),
			 json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS));
	json_decref(expected);
	json_decref(got);
}

/* Totals and per-function figures against `report`, `flamegraph` and `memory`. */
static void check_against_reports(const char *trace, const Profile *profile)
{
	char args[PATH_MAX + 64];
	snprintf(args, sizeof(args), "report --json '%s'", trace);
	json_t *report = harness_memprof_json(args, 0);
	/* alloc_objects counts blocks created, realloc's new ones too, as allocated_bytes
	 * counts their bytes. */
	assert_int_equal(total(profile, "alloc_objects"),
			 num(report, "allocations") + num(report, "reallocs"));
	assert_int_equal(total(profile, "alloc_space"), num(report, "allocated_bytes"));
	assert_int_equal(total(profile, "inuse_objects"), num(report, "unfreed_blocks"));
	assert_int_equal(total(profile, "inuse_space"), num(report, "unfreed_bytes"));
	json_decref(report);
	const char *metrics[][2] = { { "allocated", "alloc_space" }, { "unfreed", "inuse_space" } };
	for (int i = 0; i < 2; i++) {
		snprintf(args, sizeof(args), "flamegraph --json --metric %s '%s'", metrics[i][0],
			 trace);
		json_t *folded = harness_memprof_json(args, 0);
		assert_same_sums(json_by_leaf(json_object_get(folded, "stacks"), "value"),
				 pprof_by_leaf(profile, metrics[i][1]), metrics[i][1]);
		json_decref(folded);
	}
}

/* resident_space and committed_space against `memory --json`'s stacks, summed. */
static void check_against_memory(const char *trace, const Profile *profile)
{
	char args[PATH_MAX + 64];
	snprintf(args, sizeof(args), "memory --json '%s'", trace);
	json_t *memory = harness_memprof_json(args, 0), *entry;
	int64_t resident = 0, committed = 0;
	size_t index;
	json_array_foreach(json_object_get(memory, "stacks"), index, entry) {
		resident += num(entry, "resident_bytes");
		committed += num(entry, "committed_bytes");
	}
	assert_true(committed > 0);
	assert_int_equal(total(profile, "resident_space"), resident);
	assert_int_equal(total(profile, "committed_space"), committed);
	json_t *stacks = json_object_get(memory, "stacks");
	assert_same_sums(json_by_leaf(stacks, "committed_bytes"),
			 pprof_by_leaf(profile, "committed_space"), "committed_space");
	assert_same_sums(json_by_leaf(stacks, "resident_bytes"),
			 pprof_by_leaf(profile, "resident_space"), "resident_space");
	json_decref(memory);
}

static void test_pprof_totals_and_functions_match_the_reports(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog("leaks", NULL, NULL, trace);
	Profile *profile = pprof_of("", trace);
	/* Go's heap profile order, with the snapshot's two before inuse_*, which is last. */
	const char *types[][2] = { { "alloc_objects", "count" }, { "alloc_space", "bytes" },
				   { "resident_space", "bytes" }, { "committed_space", "bytes" },
				   { "inuse_objects", "count" }, { "inuse_space", "bytes" } };
	assert_int_equal(profile->n_sample_type, 6);
	for (int i = 0; i < 6; i++) {
		assert_string_equal(string_at(profile, profile->sample_type[i]->type), types[i][0]);
		assert_string_equal(string_at(profile, profile->sample_type[i]->unit), types[i][1]);
	}
	assert_string_equal(string_at(profile, 0), "");
	assert_int_equal(profile->default_sample_type, 0);
	assert_string_equal(string_at(profile, profile->period_type->type), "space");
	assert_int_equal(profile->period, 1);
	check_against_reports(trace, profile);
	check_against_memory(trace, profile);
	/* leak_direct's three blocks of 1111 bytes are live at the end. */
	json_t *inuse = pprof_by_leaf(profile, "inuse_space");
	assert_int_equal(json_integer_value(json_object_get(inuse, "leak_direct")), 3 * 1111);
	json_decref(inuse);
	perftools__profiles__profile__free_unpacked(profile, NULL);
}

/* A program's own mmap'd file and a thread's stack: the memory join's other sources. */
static void test_pprof_memory_types_cover_mmap(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	const char *args[] = { "kinds", NULL };
	run_prog("resident", args, NULL, trace);
	Profile *profile = pprof_of("--snapshot exit", trace);
	check_against_reports(trace, profile);
	check_against_memory(trace, profile);
	perftools__profiles__profile__free_unpacked(profile, NULL);
}

static void test_pprof_inlined_frames_are_lines_of_one_location(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog("inline_levels", NULL, NULL, trace);
	Profile *profile = pprof_of("", trace);
	int alloc = type_index(profile, "alloc_space"), found = 0;
	for (size_t i = 0; i < profile->n_sample; i++) {
		const Perftools__Profiles__Sample *sample = profile->sample[i];
		if (sample->value[alloc] != 4603)
			continue;
		found++;
		/* The stack ends at main: one return address, four functions. */
		assert_int_equal(sample->n_location_id, 1);
		const Perftools__Profiles__Location *location = location_of(profile,
									     sample->location_id[0]);
		const char *expected[] = { "level3", "level2", "level1", "main" };
		assert_int_equal(location->n_line, 4);
		for (int l = 0; l < 4; l++) {
			assert_string_equal(function_name(profile, location->line[l]->function_id),
					    expected[l]);
			assert_true(location->line[l]->line > 0);
		}
	}
	assert_int_equal(found, 1);
	check_against_reports(trace, profile);
	perftools__profiles__profile__free_unpacked(profile, NULL);
}

static void test_pprof_cxx_names_are_demangled(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog("leaks_cxx", NULL, NULL, trace);
	Profile *profile = pprof_of("", trace);
	int seen = 0;
	for (size_t i = 0; i < profile->n_function; i++) {
		const char *name = string_at(profile, profile->function[i]->name);
		if (strcmp(name, "ns::Widget::make(int)") == 0) {
			seen++;
			assert_true(strstr(string_at(profile, profile->function[i]->filename),
					   "tests/progs/leaks_cxx.cc") != NULL);
		}
		assert_null(strstr(name, "_ZN")); /* nothing left mangled */
	}
	assert_int_equal(seen, 1);
	/* One of the two Widgets was deleted. */
	assert_int_equal(pprof_through(profile, "inuse_space", "ns::Widget::make(int)"), 8888);
	assert_int_equal(pprof_through(profile, "alloc_space", "ns::Widget::make(int)"), 2 * 8888);
	check_against_reports(trace, profile);
	perftools__profiles__profile__free_unpacked(profile, NULL);
}

/* Estimates as the reports give them, the period, and a comment that says so. */
static void test_pprof_sampled_trace_gives_the_estimates(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	const char *args[] = { "64", "65536", NULL };
	const char *env[] = { "MEMPROF_SAMPLE_BYTES=64k", "MEMPROF_SAMPLE_SEED=7", NULL };
	run_prog("sample_mix", args, env, trace);
	Profile *profile = pprof_of("", trace);
	assert_int_equal(profile->period, 65536);
	assert_true(total(profile, "alloc_space") > 32ll << 20);
	check_against_reports(trace, profile);
	int said = 0;
	for (size_t i = 0; i < profile->n_comment; i++)
		said += strstr(string_at(profile, profile->comment[i]), "sampled") != NULL;
	assert_int_equal(said, 1);
	perftools__profiles__profile__free_unpacked(profile, NULL);
}

static void test_pprof_mappings_main_binary_first(void **state)
{
	(void)state;
	char trace[PATH_MAX], program[PATH_MAX];
	run_prog("leaks", NULL, NULL, trace);
	harness_prog_path("leaks", program, sizeof(program));
	Profile *profile = pprof_of("", trace);
	assert_true(profile->n_mapping >= 2); /* the program and libc */
	assert_string_equal(string_at(profile, profile->mapping[0]->filename), program);
	for (size_t i = 0; i < profile->n_mapping; i++) {
		const Perftools__Profiles__Mapping *mapping = profile->mapping[i];
		assert_int_equal(mapping->id, i + 1);
		assert_true(mapping->memory_start < mapping->memory_limit);
		assert_true(mapping->has_functions && mapping->has_inline_frames);
		const char *build_id = string_at(profile, mapping->build_id);
		assert_int_equal(strlen(build_id), 40);
		assert_int_equal(strspn(build_id, "0123456789abcdef"), 40);
	}
	for (size_t i = 0; i < profile->n_location; i++) {
		const Perftools__Profiles__Location *location = profile->location[i];
		assert_true(location->mapping_id >= 1 && location->mapping_id <= profile->n_mapping);
		const Perftools__Profiles__Mapping *mapping = profile->mapping[location->mapping_id - 1];
		assert_true(location->address >= mapping->memory_start &&
			    location->address < mapping->memory_limit);
	}
	perftools__profiles__profile__free_unpacked(profile, NULL);
}

/* No snapshot: four types, unless one is asked for, which is then an error. */
static void test_pprof_without_snapshot(void **state)
{
	(void)state;
	char trace[PATH_MAX], args[PATH_MAX * 2], *out;
	const char *env[] = { "MEMPROF_SNAPSHOT_EXIT=0", NULL };
	run_prog("leaks", NULL, env, trace);
	Profile *profile = pprof_of("", trace);
	assert_int_equal(profile->n_sample_type, 4);
	assert_int_equal(type_index(profile, "resident_space"), -1);
	assert_int_equal(type_index(profile, "inuse_space"), 3);
	check_against_reports(trace, profile);
	perftools__profiles__profile__free_unpacked(profile, NULL);
	snprintf(args, sizeof(args), "pprof --snapshot exit '%s' -o /dev/null 2>/dev/null", trace);
	assert_int_equal(harness_memprof(args, &out), 2);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pprof_totals_and_functions_match_the_reports),
		cmocka_unit_test(test_pprof_memory_types_cover_mmap),
		cmocka_unit_test(test_pprof_inlined_frames_are_lines_of_one_location),
		cmocka_unit_test(test_pprof_cxx_names_are_demangled),
		cmocka_unit_test(test_pprof_sampled_trace_gives_the_estimates),
		cmocka_unit_test(test_pprof_mappings_main_binary_first),
		cmocka_unit_test(test_pprof_without_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
