/* trace_complete.h: whether a trace holds everything its process wrote, and if not, why.
 *
 * The header's end state is written when the process ends, before or after its last
 * records, and the file is extended chunk by chunk: so neither "exited with status 0" nor
 * a file that ends on a chunk boundary proves that nothing is missing. A trace is
 * complete only when all of these hold:
 *   - the file holds its whole header and every chunk it starts (no cut, no corrupt
 *     chunk);
 *   - the process ended (end state exit, _exit or exec; "running" means killed, crashed
 *     or still running, and the trace then has no end);
 *   - the records the end writes last are there: after exit(), the leak check's summary
 *     or, with MEMPROF_LEAK_CHECK=0, the exit snapshot; after _exit(), the exit snapshot.
 *     An image replaced by exec writes no such record, so its trace must at least hold a
 *     chunk. A trace recorded with both MEMPROF_LEAK_CHECK=0 and MEMPROF_SNAPSHOT_EXIT=0
 *     cannot be told from one cut at a chunk boundary and is reported incomplete.
 *   - no snapshot saw the trace file mapped further than the file now reaches (the
 *     snapshots list libmemprof's own mappings, the chunks of every live thread among
 *     them: this catches another thread's chunks cut after the exiting thread's last).
 * Blind spots, format version 1 having no end record of its own: a cut exactly between
 * the exit snapshot and the leak check's first record reads as MEMPROF_LEAK_CHECK=0, and
 * chunks started after the last snapshot by threads other than the exiting one (or,
 * without an exit snapshot, any other thread's last chunks) can go unnoticed.
 */
#ifndef MEMPROF_TRACE_COMPLETE_H
#define MEMPROF_TRACE_COMPLETE_H

#include <stddef.h>

#include "trace_read.h"

/* 1 if `trace` is complete (see above), else 0 with the reason, one lowercase phrase
 * ("the file ends inside a chunk"), written into reason. */
int mp_trace_complete(const struct mp_trace *trace, char *reason, size_t len);

#endif
