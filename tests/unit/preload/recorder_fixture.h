/* recorder_fixture.h: runs the preload's recorder inside a test, without LD_PRELOAD.
 *
 * The preload's shim (interpose.c, lifecycle.c) and the start of recording (recording.c)
 * are not linked into unit tests; this fixture stands in for recording.c: it sets the
 * options, creates a trace in a temporary directory and marks recording ready, so tests
 * call the recorder API directly and then read the file back. */
#ifndef MEMPROF_RECORDER_FIXTURE_H
#define MEMPROF_RECORDER_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record_hot.h"

/* recording.c's part, as a test double: recording is started by fixture_start. state.c
 * is linked as it is; its mp_state_disable sets the state to OFF, which tests check. */
int mp_recording_start(void)
{
	return mp_state_is_ready();
}

void mp_recording_end(enum mp_end_state state, int status)
{
	mp_trace_file_set_end(state, status);
}

static char fixture_dir[256];

/* Creates a fresh trace under a temporary directory; returns its path. */
static inline const char *fixture_start(void)
{
	snprintf(fixture_dir, sizeof(fixture_dir), "%s/memprof-unit-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(fixture_dir))
		abort();
	snprintf(mp_config.output_pattern, sizeof(mp_config.output_pattern), "%s/t.%%p.trace",
		 fixture_dir);
	mp_config.max_frames = 64;
	mp_config.quiet = 1;
	mp_config.leak_check = 1;
	mp_config.leak_check_max_bytes = 1ull << 30;
	mp_sampling_set_configure();
	/* The recorder is linked into the test itself: strip no frames as "our own". */
	mp_stacks_init(0, 0);
	mp_chunk_init();
	if (mp_trace_file_create(0) < 0)
		abort();
	mp_state = MP_STATE_READY;
	return mp_trace_file_path();
}

struct fixture_file {
	uint8_t *data;
	size_t size;
};

/* Maps the trace as the analyzer would see it if the process died now. */
static inline struct fixture_file fixture_read(const char *path)
{
	struct fixture_file file = { NULL, 0 };
	FILE *stream = fopen(path, "rb");
	if (!stream)
		abort();
	fseek(stream, 0, SEEK_END);
	file.size = (size_t)ftell(stream);
	fseek(stream, 0, SEEK_SET);
	file.data = malloc(file.size);
	if (fread(file.data, 1, file.size, stream) != file.size)
		abort();
	fclose(stream);
	return file;
}

#endif
