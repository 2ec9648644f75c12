/* html_tree.c: one or two traces' stacks as a call tree, cut to what the page can show.
 *
 * Every stack with a figure is a path from the root, one node per frame (frames matched
 * by function, file and line, diff.h); each node sums its subtree's values. The cut keeps
 * a node while its subtree holds at least the threshold's share of some metric's total,
 * and what it cuts goes to one "[other]" child per kept node.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "hash_mix.h"
#include "html_data.h"

static int html_figures_empty(const struct mp_html_figures *figures)
{
	for (int m = 0; m < MP_HTML_METRICS; m++)
		if (figures->value[m] || figures->blocks[m])
			return 0;
	return 1;
}

static void html_figures_add(struct mp_html_figures *into, const struct mp_html_figures *from)
{
	for (int m = 0; m < MP_HTML_METRICS; m++) {
		into->value[m] += from->value[m];
		into->blocks[m] += from->blocks[m];
	}
}

/* ---- the whole call tree, before it is cut ---- */

/* A node of the full tree: its frame and parent. Its inclusive values per trace are in
 * html_tree.incl, an array per trace: a node of both was 200 bytes, half of them the
 * second trace's that only a diff fills, and cc1plus's trees have a million nodes. */
struct html_full_node {
	uint32_t parent, frame;
};

/* A slot of the index of nodes by (parent, frame): the key is kept in the slot, so that a
 * probe does not touch the (large) nodes. */
struct html_node_slot {
	uint64_t key;     /* parent << 32 | frame */
	uint32_t node;    /* node + 1; 0: empty */
};

/* A frame already seen, by the addresses of its strings (the symbolizer returns the same
 * ones for the same function and file): most frames are found without a key to build. */
struct html_frame_slot {
	const char *function, *file;
	uint32_t line;
	uint32_t frame;   /* frame + 1; 0: empty */
};

struct html_tree {
	struct html_full_node *nodes;
	size_t count, cap;
	uint64_t (*incl[2])[MP_HTML_METRICS]; /* per trace compared, per node (cap of them) */
	int sides;
	struct html_node_slot *node_slots; /* open addressing over (parent, frame) */
	size_t node_mask;
	struct html_frame_slot *seen;      /* frames by their strings' addresses */
	size_t seen_mask, seen_count;
	char **frame_keys;    /* per frame: its matching key (diff.h) */
	struct mp_html_frame *frames;
	size_t frame_count, frame_cap;
	uint32_t *frame_slots; /* open addressing over frame_keys: frame + 1 */
	size_t frame_mask;
	char **labels;
	size_t label_count, label_cap;
};

static uint64_t html_hash_bytes(const char *text)
{
	uint64_t hash = 1469598103934665603ull; /* FNV-1a */
	for (; *text; text++)
		hash = (hash ^ (uint8_t)*text) * 1099511628211ull;
	return hash;
}

static size_t html_hash_u64(uint64_t key, size_t mask)
{
	return (size_t)mp_hash_mix64(key) & mask;
}

static int html_grow(void **items, size_t *cap, size_t count, size_t size)
{
	if (count < *cap)
		return 0;
	size_t grown_cap = *cap ? *cap * 2 : 1024;
	void *grown = realloc(*items, grown_cap * size);
	if (!grown)
		return -ENOMEM;
	*items = grown;
	*cap = grown_cap;
	return 0;
}

/* Rehashes the frame index into `capacity` slots. */
static int html_frames_rehash(struct html_tree *tree, size_t capacity)
{
	uint32_t *slots = calloc(capacity, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(tree->frame_slots);
	tree->frame_slots = slots;
	tree->frame_mask = capacity - 1;
	for (size_t f = 0; f < tree->frame_count; f++) {
		size_t i = html_hash_u64(html_hash_bytes(tree->frame_keys[f]), tree->frame_mask);
		while (slots[i])
			i = (i + 1) & tree->frame_mask;
		slots[i] = (uint32_t)f + 1;
	}
	return 0;
}

static uint64_t html_node_key(uint32_t parent, uint32_t frame)
{
	return (uint64_t)parent << 32 | frame;
}

static int html_nodes_rehash(struct html_tree *tree, size_t capacity)
{
	struct html_node_slot *slots = calloc(capacity, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(tree->node_slots);
	tree->node_slots = slots;
	tree->node_mask = capacity - 1;
	for (size_t n = 1; n < tree->count; n++) {
		uint64_t key = html_node_key(tree->nodes[n].parent, tree->nodes[n].frame);
		size_t i = html_hash_u64(key, tree->node_mask);
		while (slots[i].node)
			i = (i + 1) & tree->node_mask;
		slots[i] = (struct html_node_slot){ key, (uint32_t)n + 1 };
	}
	return 0;
}

/* The cache of frames by string addresses, rebuilt larger; 0 or -ENOMEM. */
static int html_seen_grow(struct html_tree *tree)
{
	size_t capacity = tree->seen_mask ? (tree->seen_mask + 1) * 2 : 4096;
	struct html_frame_slot *slots = calloc(capacity, sizeof(*slots)), *old = tree->seen;
	if (!slots)
		return -ENOMEM;
	size_t old_capacity = tree->seen ? tree->seen_mask + 1 : 0;
	tree->seen = slots;
	tree->seen_mask = capacity - 1;
	for (size_t i = 0; i < old_capacity; i++) {
		if (!old[i].frame)
			continue;
		size_t at = html_hash_u64((uint64_t)(uintptr_t)old[i].function ^
					  (uint64_t)(uintptr_t)old[i].file * 31 ^ old[i].line, tree->seen_mask);
		while (slots[at].frame)
			at = (at + 1) & tree->seen_mask;
		slots[at] = old[i];
	}
	free(old);
	return 0;
}

/* A label the tree owns (a frame without a function name). NULL without memory. */
static const char *html_label(struct html_tree *tree, const char *text)
{
	if (html_grow((void **)&tree->labels, &tree->label_cap, tree->label_count,
		      sizeof(*tree->labels)))
		return NULL;
	char *copy = strdup(text);
	if (copy)
		tree->labels[tree->label_count++] = copy;
	return copy;
}

/* Appends a frame with `key`, which the tree owns from then on even on failure. */
static int html_frame_append(struct html_tree *tree, char *key, const struct mp_frame *frame,
			     const char *label)
{
	if (tree->frame_count == tree->frame_cap) {
		size_t cap = tree->frame_cap ? tree->frame_cap * 2 : 1024;
		void *keys = realloc(tree->frame_keys, cap * sizeof(*tree->frame_keys));
		if (keys)
			tree->frame_keys = keys;
		void *frames = keys ? realloc(tree->frames, cap * sizeof(*tree->frames)) : NULL;
		if (frames)
			tree->frames = frames;
		if (!frames) {
			free(key);
			return -ENOMEM;
		}
		tree->frame_cap = cap;
	}
	if ((tree->frame_count + 1) * 2 > tree->frame_mask + 1 &&
	    html_frames_rehash(tree, (tree->frame_mask + 1) * 2)) {
		free(key);
		return -ENOMEM;
	}
	size_t i = html_hash_u64(html_hash_bytes(key), tree->frame_mask);
	while (tree->frame_slots[i])
		i = (i + 1) & tree->frame_mask;
	tree->frame_slots[i] = (uint32_t)tree->frame_count + 1;
	tree->frame_keys[tree->frame_count] = key;
	tree->frames[tree->frame_count++] = (struct mp_html_frame){
		label, frame ? frame->file : NULL, frame ? frame->module : NULL,
		frame ? frame->line : 0, frame ? frame->inlined : 0 };
	return 0;
}

static int64_t html_frame_by_key(struct html_tree *tree, const struct mp_frame *frame);

/* The frame index of `frame`, found by its strings' addresses or else by its key. */
static int64_t html_frame_of(struct html_tree *tree, const struct mp_frame *frame)
{
	if (!frame->function)
		return html_frame_by_key(tree, frame);
	if ((tree->seen_count + 1) * 2 > tree->seen_mask + 1 && html_seen_grow(tree))
		return -ENOMEM;
	size_t at = html_hash_u64((uint64_t)(uintptr_t)frame->function ^
				  (uint64_t)(uintptr_t)frame->file * 31 ^ frame->line, tree->seen_mask);
	for (; tree->seen[at].frame; at = (at + 1) & tree->seen_mask) {
		const struct html_frame_slot *slot = &tree->seen[at];
		if (slot->function == frame->function && slot->file == frame->file &&
		    slot->line == frame->line)
			return slot->frame - 1;
	}
	int64_t index = html_frame_by_key(tree, frame);
	if (index >= 0) {
		tree->seen[at] = (struct html_frame_slot){ frame->function, frame->file, frame->line,
							   (uint32_t)index + 1 };
		tree->seen_count++;
	}
	return index;
}

/* The frame index of `frame` by its matching key (diff.h), added if new. */
static int64_t html_frame_by_key(struct html_tree *tree, const struct mp_frame *frame)
{
	char key[1024], buf[128];
	mp_diff_frame_key(frame, key, sizeof(key));
	size_t i = html_hash_u64(html_hash_bytes(key), tree->frame_mask);
	for (; tree->frame_slots[i]; i = (i + 1) & tree->frame_mask)
		if (strcmp(tree->frame_keys[tree->frame_slots[i] - 1], key) == 0)
			return tree->frame_slots[i] - 1;
	const char *label = mp_frame_label(frame, buf, sizeof(buf));
	if (label == buf)
		label = html_label(tree, buf);
	char *owned = label ? strdup(key) : NULL;
	if (!owned)
		return -ENOMEM;
	int64_t index = (int64_t)tree->frame_count;
	return html_frame_append(tree, owned, frame, label) ? -ENOMEM : index;
}

/* Room for one more node: the nodes and each trace's values grown together; the new
 * node's values are zero. 0 or -ENOMEM. */
static int html_node_room(struct html_tree *tree)
{
	size_t cap = tree->cap;
	if (html_grow((void **)&tree->nodes, &cap, tree->count, sizeof(*tree->nodes)))
		return -ENOMEM;
	for (int s = 0; s < tree->sides && cap != tree->cap; s++) {
		void *grown = realloc(tree->incl[s], cap * sizeof(*tree->incl[s]));
		if (!grown)
			return -ENOMEM; /* the nodes' cap is left as it was: grown again next time */
		tree->incl[s] = grown;
	}
	tree->cap = cap;
	for (int s = 0; s < tree->sides; s++)
		memset(tree->incl[s][tree->count], 0, sizeof(tree->incl[s][0]));
	return 0;
}

/* The child of `parent` with `frame`, added if new; negative on -ENOMEM. */
static int64_t html_child(struct html_tree *tree, uint32_t parent, uint32_t frame)
{
	uint64_t key = html_node_key(parent, frame);
	size_t i = html_hash_u64(key, tree->node_mask);
	for (; tree->node_slots[i].node; i = (i + 1) & tree->node_mask)
		if (tree->node_slots[i].key == key)
			return tree->node_slots[i].node - 1;
	if (html_node_room(tree))
		return -ENOMEM;
	tree->nodes[tree->count].parent = parent;
	tree->nodes[tree->count].frame = frame;
	tree->node_slots[i] = (struct html_node_slot){ key, (uint32_t)++tree->count };
	if (tree->count * 2 > tree->node_mask + 1 &&
	    html_nodes_rehash(tree, (tree->node_mask + 1) * 2))
		return -ENOMEM;
	return (int64_t)tree->count - 1;
}

static int html_tree_init(struct html_tree *tree, int sides)
{
	memset(tree, 0, sizeof(*tree));
	tree->sides = sides;
	if (html_frames_rehash(tree, 1024) || html_nodes_rehash(tree, 1024) || html_seen_grow(tree))
		return -ENOMEM;
	/* Keys no frame of a stack can have (they start with the field separator). */
	char *root = strdup("\x1f" "root");
	if (!root || html_frame_append(tree, root, NULL, "all"))
		return -ENOMEM;
	char *other = strdup("\x1f" "other");
	if (!other || html_frame_append(tree, other, NULL, "[other]"))
		return -ENOMEM;
	if (html_node_room(tree))
		return -ENOMEM;
	memset(&tree->nodes[0], 0, sizeof(tree->nodes[0]));
	tree->count = 1;
	return 0;
}

static void html_tree_free(struct html_tree *tree)
{
	for (size_t f = 0; f < tree->frame_count; f++)
		free(tree->frame_keys[f]);
	free(tree->frame_keys);
	free(tree->frames);
	free(tree->frame_slots);
	free(tree->nodes);
	free(tree->incl[0]);
	free(tree->incl[1]);
	free(tree->node_slots);
	free(tree->seen);
	for (size_t l = 0; l < tree->label_count; l++)
		free(tree->labels[l]);
	free(tree->labels);
}

/* The leaf of a stack's path (outermost frame first from the root); negative on -ENOMEM. */
static int64_t html_tree_path(struct html_tree *tree, struct mp_analysis *analysis,
			      uint32_t stack_id)
{
	/* Static: 56 KiB is too much for the stack, and the analyzer is single-threaded. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	int count = mp_analysis_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	int64_t node = 0;
	if (count == 0) {
		struct mp_frame none = { .function = "[no stack]" };
		int64_t frame = html_frame_of(tree, &none);
		return frame < 0 ? frame : html_child(tree, 0, (uint32_t)frame);
	}
	for (int i = count - 1; i >= 0 && node >= 0; i--) {
		int64_t frame = html_frame_of(tree, &frames[i]);
		node = frame < 0 ? frame : html_child(tree, (uint32_t)node, (uint32_t)frame);
	}
	return node;
}

/* ---- the cut and the page's tree ---- */

/* Each trace's stacks: their figures and the leaf of their path (UINT32_MAX: none). */
struct html_stacks {
	struct mp_html_figures *figures;
	uint32_t *leaf;
	uint32_t count;
};

static int html_node_big(const struct html_tree *tree, size_t node, int side_count,
			 double threshold)
{
	for (int s = 0; s < side_count; s++)
		for (int m = 0; m < MP_HTML_METRICS; m++)
			if (tree->incl[s][node][m] &&
			    (double)tree->incl[s][node][m] >= threshold * (double)tree->incl[s][0][m])
				return 1;
	return 0;
}

/* Marks the nodes kept at `threshold` (their parent kept, and big enough in some metric)
 * and returns how many nodes the page's tree then has: those, and one "[other]" per kept
 * node with a child cut. */
static size_t html_cut(const struct html_tree *tree, int side_count, double threshold,
		       uint8_t *kept, uint8_t *has_other)
{
	size_t count = 1;
	memset(has_other, 0, tree->count);
	kept[0] = 1;
	for (size_t n = 1; n < tree->count; n++) {
		const struct html_full_node *node = &tree->nodes[n];
		kept[n] = kept[node->parent] && html_node_big(tree, n, side_count, threshold);
		if (kept[n])
			count++;
		else if (kept[node->parent] && !has_other[node->parent]) {
			has_other[node->parent] = 1;
			count++;
		}
	}
	return count;
}

/* The page node a stack's figures go to: its leaf if kept, else the "[other]" of the
 * deepest kept node on its path. */
static uint32_t html_target(const struct html_tree *tree, const uint8_t *kept,
			    const uint32_t *new_index, const uint32_t *other_index, uint32_t leaf)
{
	if (kept[leaf])
		return new_index[leaf];
	while (!kept[leaf])
		leaf = tree->nodes[leaf].parent;
	return other_index[leaf];
}

static int html_cell_compare(const void *left, const void *right)
{
	const struct mp_html_cell *a = left, *b = right;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	if (a->alloc_bucket != b->alloc_bucket)
		return a->alloc_bucket < b->alloc_bucket ? -1 : 1;
	return a->end_bucket < b->end_bucket ? -1 : a->end_bucket > b->end_bucket;
}

/* The trace's time cells moved to their page nodes, sorted and merged. 0 or -ENOMEM. */
static int html_cells(struct mp_html_data *data, const struct mp_time_buckets *time,
		      const struct html_stacks *stacks, const uint32_t *targets)
{
	size_t total = 0, cap = 0;
	for (uint32_t id = 0; id < stacks->count; id++)
		if (stacks->leaf[id] != UINT32_MAX) {
			size_t count = 0;
			mp_time_buckets_of(time, id, &count);
			total += count;
		}
	cap = total ? total : 1;
	data->cells = malloc(cap * sizeof(*data->cells));
	if (!data->cells)
		return -ENOMEM;
	for (uint32_t id = 0; id < stacks->count; id++) {
		size_t count = 0;
		const struct mp_time_cell *cells = stacks->leaf[id] == UINT32_MAX ? NULL :
						   mp_time_buckets_of(time, id, &count);
		for (size_t c = 0; c < count; c++)
			data->cells[data->cell_count++] = (struct mp_html_cell){
				targets[id], cells[c].alloc_bucket, cells[c].end_bucket,
				cells[c].bytes, cells[c].blocks };
	}
	if (data->cell_count)
		qsort(data->cells, data->cell_count, sizeof(*data->cells), html_cell_compare);
	size_t merged = 0;
	for (size_t c = 0; c < data->cell_count; c++) {
		if (merged && html_cell_compare(&data->cells[merged - 1], &data->cells[c]) == 0) {
			data->cells[merged - 1].bytes += data->cells[c].bytes;
			data->cells[merged - 1].blocks += data->cells[c].blocks;
		} else {
			data->cells[merged++] = data->cells[c];
		}
	}
	data->cell_count = merged;
	return 0;
}

/* The frames the kept nodes use, renumbered (root and "[other]" first); frame_map[f]
 * receives the new index of frame f. 0 or -ENOMEM. */
static int html_frames_out(struct mp_html_data *data, const struct html_tree *tree,
			   const uint8_t *kept, uint32_t *frame_map)
{
	data->frames = malloc(tree->frame_count * sizeof(*data->frames));
	if (!data->frames)
		return -ENOMEM;
	for (size_t f = 0; f < tree->frame_count; f++)
		frame_map[f] = f <= MP_HTML_OTHER_FRAME ? (uint32_t)f : UINT32_MAX;
	data->frames[0] = tree->frames[0];
	data->frames[1] = tree->frames[1];
	data->frame_count = 2;
	for (size_t n = 1; n < tree->count; n++) {
		uint32_t frame = tree->nodes[n].frame;
		if (kept[n] && frame_map[frame] == UINT32_MAX) {
			frame_map[frame] = (uint32_t)data->frame_count;
			data->frames[data->frame_count++] = tree->frames[frame];
		}
	}
	return 0;
}

/* The page's nodes; new_index/other_index receive each full node's page node. */
static int html_nodes_out(struct mp_html_data *data, const struct html_tree *tree,
			  const uint8_t *kept, const uint8_t *has_other, size_t count,
			  uint32_t *new_index, uint32_t *other_index, const uint32_t *frame_map)
{
	data->nodes = calloc(count, sizeof(*data->nodes));
	if (!data->nodes)
		return -ENOMEM;
	for (size_t n = 0; n < tree->count; n++) {
		if (!kept[n])
			continue;
		new_index[n] = (uint32_t)data->node_count;
		data->nodes[data->node_count++] = (struct mp_html_node){
			.parent = n ? new_index[tree->nodes[n].parent] : 0,
			.frame = frame_map[tree->nodes[n].frame] };
	}
	for (size_t n = 0; n < tree->count; n++) {
		if (!kept[n] || !has_other[n])
			continue;
		other_index[n] = (uint32_t)data->node_count;
		data->nodes[data->node_count++] = (struct mp_html_node){
			.parent = new_index[n], .frame = MP_HTML_OTHER_FRAME };
	}
	return 0;
}

static void html_data_clear(struct mp_html_data *data)
{
	free(data->frames);
	free(data->nodes);
	free(data->cells);
	data->frames = NULL;
	data->nodes = NULL;
	data->cells = NULL;
	data->frame_count = data->node_count = data->cell_count = 0;
}

/* The page's tree at `threshold`. 0 or -ENOMEM. */
static int html_output(struct mp_html_data *data, const struct html_tree *tree,
		       struct mp_html_side *sides, const struct html_stacks *stacks,
		       int side_count, const uint8_t *kept, const uint8_t *has_other, size_t count)
{
	uint32_t *new_index = calloc(tree->count, sizeof(*new_index));
	uint32_t *other_index = calloc(tree->count, sizeof(*other_index));
	uint32_t *frame_map = calloc(tree->frame_count, sizeof(*frame_map));
	uint32_t *targets = NULL;
	int rc = new_index && other_index && frame_map ? 0 : -ENOMEM;
	if (rc == 0)
		rc = html_frames_out(data, tree, kept, frame_map);
	if (rc == 0)
		rc = html_nodes_out(data, tree, kept, has_other, count, new_index, other_index,
				    frame_map);
	for (int s = 0; rc == 0 && s < side_count; s++) {
		free(targets);
		targets = calloc(stacks[s].count ? stacks[s].count : 1, sizeof(*targets));
		if (!targets) {
			rc = -ENOMEM;
			break;
		}
		for (uint32_t id = 0; id < stacks[s].count; id++) {
			if (stacks[s].leaf[id] == UINT32_MAX)
				continue;
			targets[id] = html_target(tree, kept, new_index, other_index, stacks[s].leaf[id]);
			struct mp_html_node *node = &data->nodes[targets[id]];
			html_figures_add(&node->figures[s], &stacks[s].figures[id]);
			node->folded += node->frame == MP_HTML_OTHER_FRAME;
		}
		if (s == 0 && sides[0].time)
			rc = html_cells(data, sides[0].time, &stacks[0], targets);
	}
	free(targets);
	free(new_index);
	free(other_index);
	free(frame_map);
	return rc;
}

/* Every stack with a figure into the full tree, its values added along its path. */
static int html_fill(struct html_tree *tree, struct mp_html_side *sides, int side_count,
		     struct html_stacks *stacks, size_t *stack_total)
{
	for (int s = 0; s < side_count; s++) {
		stacks[s].figures = mp_html_stack_figures(&sides[s], &stacks[s].count);
		stacks[s].leaf = calloc(stacks[s].count ? stacks[s].count : 1, sizeof(uint32_t));
		if (!stacks[s].figures || !stacks[s].leaf)
			return -ENOMEM;
		for (uint32_t id = 0; id < stacks[s].count; id++) {
			stacks[s].leaf[id] = UINT32_MAX;
			if (html_figures_empty(&stacks[s].figures[id]))
				continue;
			int64_t leaf = html_tree_path(tree, &sides[s].memory.analysis, id);
			if (leaf < 0)
				return -ENOMEM;
			stacks[s].leaf[id] = (uint32_t)leaf;
			(*stack_total)++;
			for (int m = 0; m < MP_HTML_METRICS; m++)
				tree->incl[s][leaf][m] += stacks[s].figures[id].value[m];
		}
	}
	/* Children come after their parent: one backward pass makes the values inclusive. */
	for (size_t n = tree->count - 1; n > 0; n--)
		for (int s = 0; s < side_count; s++)
			for (int m = 0; m < MP_HTML_METRICS; m++)
				tree->incl[s][tree->nodes[n].parent][m] += tree->incl[s][n][m];
	return 0;
}

int mp_html_data_build(struct mp_html_data *data, struct mp_html_side *sides, int side_count,
		       double threshold, size_t max_nodes, size_t max_cells)
{
	struct html_tree tree;
	struct html_stacks stacks[2] = { { 0 } };
	uint8_t *kept = NULL, *has_other = NULL;
	memset(data, 0, sizeof(*data));
	int rc = html_tree_init(&tree, side_count);
	if (rc == 0)
		rc = html_fill(&tree, sides, side_count, stacks, &data->stacks);
	if (rc == 0 && (!(kept = malloc(tree.count)) || !(has_other = malloc(tree.count))))
		rc = -ENOMEM;
	while (rc == 0) {
		size_t count = html_cut(&tree, side_count, threshold, kept, has_other);
		if (count > max_nodes && threshold < 1.0) {
			threshold *= 2;
			continue;
		}
		rc = html_output(data, &tree, sides, stacks, side_count, kept, has_other, count);
		if (rc == 0 && data->cell_count > max_cells && threshold < 1.0) {
			html_data_clear(data);
			threshold *= 2;
			continue;
		}
		break;
	}
	data->threshold = threshold;
	/* The labels outlive the tree: the page's frames point at them. */
	data->labels = tree.labels;
	data->label_count = tree.label_count;
	tree.labels = NULL;
	tree.label_count = 0;
	html_tree_free(&tree);
	for (int s = 0; s < 2; s++) {
		free(stacks[s].figures);
		free(stacks[s].leaf);
	}
	free(kept);
	free(has_other);
	return rc;
}

void mp_html_data_free(struct mp_html_data *data)
{
	html_data_clear(data);
	for (size_t l = 0; l < data->label_count; l++)
		free(data->labels[l]);
	free(data->labels);
	memset(data, 0, sizeof(*data));
}
