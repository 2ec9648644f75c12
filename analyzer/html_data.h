/* html_data.h: what memprof html's page shows, pre-aggregated from one or two traces.
 *
 * The page must stay small and quick for traces of millions of events and a hundred
 * thousand stacks, so the work is done here: every stack's figures (allocated, calls,
 * live at the heap peak, each leak kind, unfreed, temporary, committed and resident at
 * the chosen snapshot) go into a call tree keyed by frame (function, file, line), and
 * the tree is cut where a subtree is below `threshold` of every metric's total: what is
 * cut becomes one "[other]" child of the node above it, with its total. The threshold
 * doubles until the tree and its time cells fit the page's budget.
 *
 * With a base trace (memprof html --base) both traces go into one tree, stacks matched
 * as memprof diff matches them (diff.h), each node with both traces' figures.
 */
#ifndef MEMPROF_HTML_DATA_H
#define MEMPROF_HTML_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "leaks.h"
#include "memory.h"
#include "suppressions.h"
#include "time_buckets.h"

enum mp_html_metric {
	MP_HTML_ALLOCATED, MP_HTML_CALLS, MP_HTML_PEAK, MP_HTML_LEAKED, MP_HTML_DEFINITE,
	MP_HTML_INDIRECT, MP_HTML_POSSIBLE, MP_HTML_REACHABLE, MP_HTML_UNFREED,
	MP_HTML_TEMPORARY, MP_HTML_COMMITTED, MP_HTML_RESIDENT, MP_HTML_METRICS
};

/* A node's own figures: value (bytes, or a count for calls and temporary) and blocks. */
struct mp_html_figures {
	uint64_t value[MP_HTML_METRICS];
	uint64_t blocks[MP_HTML_METRICS];
};

/* One trace, analyzed once for everything the page shows. */
struct mp_html_side {
	const char *path;
	struct mp_memory_report memory; /* its analysis is the side's, snapshots or not */
	int has_memory;                 /* 1: the trace had a snapshot, memory.result is set */
	char no_memory[512];            /* else why not, as memprof memory says it */
	struct mp_leak_list leaks;
	struct mp_time_buckets *time;   /* NULL unless asked for */
};

/* A frame of the tree: strings owned by a side's analysis (label by the data). */
struct mp_html_frame {
	const char *label;     /* function, else module+0xoffset */
	const char *file, *module;
	uint32_t line;
	int inlined;
};

#define MP_HTML_ROOT_FRAME 0   /* "all": the root's frame */
#define MP_HTML_OTHER_FRAME 1  /* "[other]": subtrees below the threshold */

struct mp_html_node {
	uint32_t parent;       /* the root (node 0) is its own parent; parents come first */
	uint32_t frame;
	uint32_t folded;       /* for an "[other]" node: how many nodes it stands for */
	struct mp_html_figures figures[2]; /* [0] the trace, [1] the base */
};

struct mp_html_cell {
	uint32_t node;
	uint16_t alloc_bucket, end_bucket; /* as struct mp_time_cell */
	uint64_t bytes, blocks;
};

struct mp_html_data {
	struct mp_html_frame *frames;
	size_t frame_count;
	struct mp_html_node *nodes;   /* the cut tree */
	size_t node_count;
	struct mp_html_cell *cells;   /* the trace's time cells per node, by node */
	size_t cell_count;
	double threshold;             /* the share a node needed to be kept */
	size_t stacks;                /* stacks with a figure, both traces */
	char **labels;                /* owned label strings */
	size_t label_count;
};

/* Analyzes `side->path`: one replay that also fills `side->time` (if not NULL, after
 * mp_time_buckets_init) and joins the snapshot `pick`/`index` (memory.h) when the trace
 * has one; a trace without snapshots is analyzed all the same unless a snapshot was asked
 * for (pick != MP_PICK_DEFAULT). Then its leaks, with `supp`. Returns 0 or a negative
 * code with one line in err. */
int mp_html_side_load(struct mp_html_side *side, enum mp_memory_pick pick, size_t index,
		      unsigned flags, const struct mp_suppressions *supp, char *err,
		      size_t err_len);
void mp_html_side_free(struct mp_html_side *side);

/* Every stack id's figures in a loaded side, *count of them (the metrics of the page:
 * the model's, the leak list's without suppressed entries, the snapshot's); NULL without
 * memory. For html_tree.c. */
struct mp_html_figures *mp_html_stack_figures(struct mp_html_side *side, uint32_t *count);

/* html_tree.c. Builds the tree of `sides` (1, or 2 with the base second), cut at `threshold` (a share
 * of each total, e.g. 0.001) or above until it has at most max_nodes nodes and max_cells
 * time cells. Returns 0 or -ENOMEM. */
int mp_html_data_build(struct mp_html_data *data, struct mp_html_side *sides, int side_count,
		       double threshold, size_t max_nodes, size_t max_cells);
void mp_html_data_free(struct mp_html_data *data);

/* "allocated", "calls", ... as the page and docs name the metrics. */
const char *mp_html_metric_name(enum mp_html_metric metric);

#endif
