/* memcheck.h: Valgrind memcheck's leak verdict on a test program, the yardstick the leak
 * tests compare memprof's kinds with. */
#ifndef MEMPROF_TEST_MEMCHECK_H
#define MEMPROF_TEST_MEMCHECK_H

#include <stdint.h>

/* memcheck's leak kinds, in this order (memprof's JSON calls them definite, indirect,
 * possible, reachable). */
enum memcheck_kind {
	MEMCHECK_DEFINITE,
	MEMCHECK_INDIRECT,
	MEMCHECK_POSSIBLE,
	MEMCHECK_REACHABLE,
};

/* One loss record: its direct bytes (memcheck's "N (D direct, I indirect) bytes" counts
 * D), its blocks and its kind. */
typedef void memcheck_loss_fn(void *context, uint64_t bytes, uint64_t blocks,
			      enum memcheck_kind kind);

/* Whether valgrind can be run here. */
int memcheck_available(void);

/* Runs `valgrind --leak-check=full --show-leak-kinds=all --xml=yes` on `command` (the
 * program's path and arguments as shell words; its output is discarded) and calls
 * on_loss for every leak record of the XML report. Returns the wait status, which is the
 * program's (valgrind passes its exit code and its death on). */
int memcheck_run(const char *command, memcheck_loss_fn *on_loss, void *context);

#endif
