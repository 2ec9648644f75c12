/* pprof_encode.c: a profile into profile.proto with protobuf-c, then gzip with libdeflate.
 *
 * protobuf-c packs a tree of message structs, each repeated message field an array of
 * pointers: this file lays those structs over the profile's flat arrays (ids are array
 * positions + 1), packs, and compresses. The profile's own strings and id arrays are
 * pointed to, not copied.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <profile.pb-c.h>

#include "pprof_encode.h"

/* The message structs of one encoding, and the pointer arrays protobuf-c walks. */
struct encode_tree {
	Perftools__Profiles__Profile root;
	Perftools__Profiles__ValueType types[MP_PPROF_TYPES], period_type;
	Perftools__Profiles__ValueType *type_ptrs[MP_PPROF_TYPES];
	Perftools__Profiles__Sample *samples, **sample_ptrs;
	int64_t *values;
	Perftools__Profiles__Mapping *mappings, **mapping_ptrs;
	Perftools__Profiles__Location *locations, **location_ptrs;
	Perftools__Profiles__Line *lines, **line_ptrs;
	Perftools__Profiles__Function *functions, **function_ptrs;
};

static void encode_tree_free(struct encode_tree *tree)
{
	free(tree->samples);
	free(tree->sample_ptrs);
	free(tree->values);
	free(tree->mappings);
	free(tree->mapping_ptrs);
	free(tree->locations);
	free(tree->location_ptrs);
	free(tree->lines);
	free(tree->line_ptrs);
	free(tree->functions);
	free(tree->function_ptrs);
}

/* calloc of at least one element, so that an empty profile is not an allocation failure. */
static void *encode_array(size_t count, size_t size)
{
	return calloc(count ? count : 1, size);
}

static int encode_alloc(struct encode_tree *tree, const struct mp_pprof *profile)
{
	tree->samples = encode_array(profile->sample_count, sizeof(*tree->samples));
	tree->sample_ptrs = encode_array(profile->sample_count, sizeof(*tree->sample_ptrs));
	tree->values = encode_array(profile->sample_count * profile->type_count,
				    sizeof(*tree->values));
	tree->mappings = encode_array(profile->mapping_count, sizeof(*tree->mappings));
	tree->mapping_ptrs = encode_array(profile->mapping_count, sizeof(*tree->mapping_ptrs));
	tree->locations = encode_array(profile->location_count, sizeof(*tree->locations));
	tree->location_ptrs = encode_array(profile->location_count, sizeof(*tree->location_ptrs));
	tree->lines = encode_array(profile->line_count, sizeof(*tree->lines));
	tree->line_ptrs = encode_array(profile->line_count, sizeof(*tree->line_ptrs));
	tree->functions = encode_array(profile->function_count, sizeof(*tree->functions));
	tree->function_ptrs = encode_array(profile->function_count, sizeof(*tree->function_ptrs));
	return tree->samples && tree->sample_ptrs && tree->values && tree->mappings &&
	       tree->mapping_ptrs && tree->locations && tree->location_ptrs && tree->lines &&
	       tree->line_ptrs && tree->functions && tree->function_ptrs ? 0 : -ENOMEM;
}

static int64_t encode_string(const struct mp_pprof *profile, const char *text);

static void encode_types(struct encode_tree *tree, const struct mp_pprof *profile)
{
	for (size_t i = 0; i < profile->type_count; i++) {
		perftools__profiles__value_type__init(&tree->types[i]);
		tree->types[i].type = encode_string(profile, mp_pprof_type_name(profile->types[i]));
		tree->types[i].unit = encode_string(profile, mp_pprof_type_unit(profile->types[i]));
		tree->type_ptrs[i] = &tree->types[i];
	}
}

static void encode_samples(struct encode_tree *tree, const struct mp_pprof *profile)
{
	for (size_t i = 0; i < profile->sample_count; i++) {
		const struct mp_pprof_sample *from = &profile->samples[i];
		Perftools__Profiles__Sample *to = &tree->samples[i];
		int64_t *values = tree->values + i * profile->type_count;
		perftools__profiles__sample__init(to);
		to->n_location_id = from->location_count;
		to->location_id = profile->location_ids + from->first_location;
		for (size_t t = 0; t < profile->type_count; t++)
			values[t] = from->values[profile->types[t]];
		to->n_value = profile->type_count;
		to->value = values;
		tree->sample_ptrs[i] = to;
	}
}

/* Every mapping says that its functions, files, lines and inline frames are resolved: the
 * locations carry them, and pprof then does not look for the binaries to symbolize. */
static void encode_mappings(struct encode_tree *tree, const struct mp_pprof *profile)
{
	for (size_t i = 0; i < profile->mapping_count; i++) {
		const struct mp_pprof_mapping *from = &profile->mappings[i];
		Perftools__Profiles__Mapping *to = &tree->mappings[i];
		perftools__profiles__mapping__init(to);
		to->id = i + 1;
		to->memory_start = from->start;
		to->memory_limit = from->limit;
		to->file_offset = from->offset;
		to->filename = from->filename;
		to->build_id = from->build_id;
		to->has_functions = to->has_filenames = to->has_line_numbers = 1;
		to->has_inline_frames = 1;
		tree->mapping_ptrs[i] = to;
	}
}

static void encode_locations(struct encode_tree *tree, const struct mp_pprof *profile)
{
	for (size_t i = 0; i < profile->line_count; i++) {
		perftools__profiles__line__init(&tree->lines[i]);
		tree->lines[i].function_id = profile->lines[i].function_id;
		tree->lines[i].line = profile->lines[i].line;
		tree->line_ptrs[i] = &tree->lines[i];
	}
	for (size_t i = 0; i < profile->location_count; i++) {
		const struct mp_pprof_location *from = &profile->locations[i];
		Perftools__Profiles__Location *to = &tree->locations[i];
		perftools__profiles__location__init(to);
		to->id = i + 1;
		to->mapping_id = from->mapping_id;
		to->address = from->address;
		to->n_line = from->line_count;
		to->line = tree->line_ptrs + from->first_line;
		tree->location_ptrs[i] = to;
	}
	for (size_t i = 0; i < profile->function_count; i++) {
		const struct mp_pprof_function *from = &profile->functions[i];
		Perftools__Profiles__Function *to = &tree->functions[i];
		perftools__profiles__function__init(to);
		to->id = i + 1;
		to->name = from->name;
		to->system_name = from->system_name;
		to->filename = from->filename;
		tree->function_ptrs[i] = to;
	}
}

/* The index of a string the profile already holds (the builder interns the type names,
 * units and the period's type), found by a linear search: only those few ask. */
static int64_t encode_string(const struct mp_pprof *profile, const char *text)
{
	for (size_t i = 0; i < profile->strings.count; i++)
		if (strcmp(profile->strings.items[i], text) == 0)
			return (int64_t)i;
	return 0;
}

static void encode_root(struct encode_tree *tree, const struct mp_pprof *profile)
{
	Perftools__Profiles__Profile *root = &tree->root;
	perftools__profiles__profile__init(root);
	root->n_sample_type = profile->type_count;
	root->sample_type = tree->type_ptrs;
	root->n_sample = profile->sample_count;
	root->sample = tree->sample_ptrs;
	root->n_mapping = profile->mapping_count;
	root->mapping = tree->mapping_ptrs;
	root->n_location = profile->location_count;
	root->location = tree->location_ptrs;
	root->n_function = profile->function_count;
	root->function = tree->function_ptrs;
	root->n_string_table = profile->strings.count;
	root->string_table = profile->strings.items;
	root->time_nanos = profile->time_nanos;
	root->duration_nanos = profile->duration_nanos;
	perftools__profiles__value_type__init(&tree->period_type);
	tree->period_type.type = encode_string(profile, "space");
	tree->period_type.unit = encode_string(profile, "bytes");
	root->period_type = &tree->period_type;
	root->period = profile->period;
	root->n_comment = profile->comment_count;
	root->comment = (int64_t *)profile->comments;
	/* default_sample_type stays unset: readers then take the last type, inuse_space;
	 * speedscope reads the field as a position, not a string index. */
}

/* gzip of [data, data + size) into a new buffer. 0 or -ENOMEM. */
static int encode_gzip(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size)
{
	struct libdeflate_compressor *compressor = libdeflate_alloc_compressor(6);
	if (!compressor)
		return -ENOMEM;
	size_t bound = libdeflate_gzip_compress_bound(compressor, size);
	uint8_t *buffer = malloc(bound);
	size_t written = buffer ? libdeflate_gzip_compress(compressor, data, size, buffer, bound) : 0;
	libdeflate_free_compressor(compressor);
	if (written == 0) {
		free(buffer);
		return -ENOMEM;
	}
	*out = buffer;
	*out_size = written;
	return 0;
}

int mp_pprof_encode(const struct mp_pprof *profile, uint8_t **data, size_t *size)
{
	struct encode_tree tree;
	memset(&tree, 0, sizeof(tree));
	*data = NULL;
	*size = 0;
	if (encode_alloc(&tree, profile)) {
		encode_tree_free(&tree);
		return -ENOMEM;
	}
	encode_types(&tree, profile);
	encode_samples(&tree, profile);
	encode_mappings(&tree, profile);
	encode_locations(&tree, profile);
	encode_root(&tree, profile);
	size_t packed_size = perftools__profiles__profile__get_packed_size(&tree.root);
	uint8_t *packed = malloc(packed_size ? packed_size : 1);
	int rc = packed ? 0 : -ENOMEM;
	if (packed) {
		perftools__profiles__profile__pack(&tree.root, packed);
		rc = encode_gzip(packed, packed_size, data, size);
	}
	free(packed);
	encode_tree_free(&tree);
	return rc;
}
