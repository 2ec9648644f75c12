/* module_paths.c: the loaded objects of a trace by canonical path (module_paths.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "module_paths.h"

struct mp_module_paths {
	char **paths;        /* canonical, distinct */
	size_t count, cap;
	char *last_asked;    /* the path mp_module_paths_has was last asked about */
	int last_answer;
};

/* `path` with every symbolic link resolved, else (not there, or not absolute) a copy of
 * it; malloc'd, NULL on ENOMEM. */
static char *module_paths_canonical(const char *path)
{
	char *real = path[0] == '/' ? realpath(path, NULL) : NULL;
	return real ? real : strdup(path);
}

static int module_paths_find(const struct mp_module_paths *paths, const char *canonical)
{
	for (size_t i = 0; i < paths->count; i++)
		if (strcmp(paths->paths[i], canonical) == 0)
			return 1;
	return 0;
}

/* Adds the canonical form of `path` unless it is there; 0 or -ENOMEM. */
static int module_paths_add(struct mp_module_paths *paths, const char *path)
{
	char *canonical = module_paths_canonical(path);
	if (!canonical)
		return -ENOMEM;
	if (module_paths_find(paths, canonical)) {
		free(canonical);
		return 0;
	}
	if (paths->count == paths->cap) {
		size_t cap = paths->cap ? paths->cap * 2 : 64;
		char **grown = realloc(paths->paths, cap * sizeof(*grown));
		if (!grown) {
			free(canonical);
			return -ENOMEM;
		}
		paths->paths = grown;
		paths->cap = cap;
	}
	paths->paths[paths->count++] = canonical;
	return 0;
}

/* The highest module map generation a stack of the trace uses. */
static uint32_t module_paths_last_generation(const struct mp_trace *trace)
{
	uint32_t last = 0, generation;
	for (uint32_t id = 1; id <= mp_trace_stack_count(trace); id++)
		if (mp_trace_stack(trace, id, NULL, &generation) && generation > last)
			last = generation;
	return last;
}

struct mp_module_paths *mp_module_paths_new(const struct mp_trace *trace)
{
	struct mp_module_paths *paths = calloc(1, sizeof(*paths));
	uint32_t last = module_paths_last_generation(trace);
	for (uint32_t generation = 0; paths && generation <= last; generation++) {
		size_t count;
		const struct mp_module *map = mp_trace_modules(trace, generation, &count);
		for (size_t i = 0; map && i < count; i++)
			if (module_paths_add(paths, map[i].path) < 0) {
				mp_module_paths_free(paths);
				return NULL;
			}
	}
	return paths;
}

void mp_module_paths_free(struct mp_module_paths *paths)
{
	if (!paths)
		return;
	for (size_t i = 0; i < paths->count; i++)
		free(paths->paths[i]);
	free(paths->paths);
	free(paths->last_asked);
	free(paths);
}

int mp_module_paths_has(struct mp_module_paths *paths, const char *path)
{
	if (paths->last_asked && strcmp(paths->last_asked, path) == 0)
		return paths->last_answer;
	char *canonical = module_paths_canonical(path);
	int answer = canonical && module_paths_find(paths, canonical);
	free(canonical);
	free(paths->last_asked);
	paths->last_asked = strdup(path); /* NULL on ENOMEM: just not kept */
	paths->last_answer = answer;
	return answer;
}
