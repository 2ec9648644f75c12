/* push.h: sending a gzipped pprof profile to a Pyroscope-compatible server.
 *
 * Pyroscope's ingest API (and Grafana Alloy's pyroscope.receive_http, which speaks it):
 *
 *   POST URL/ingest?name=APP{KEY=VALUE,...}&from=UNIX&until=UNIX&format=pprof&spyName=memprof
 *   Content-Type: multipart/form-data, with the file fields
 *     profile              the gzipped profile.proto
 *     sample_type_config   JSON: per sample type its units and how the server aggregates
 *                          it over time: alloc_* are per window, so "sum" and not
 *                          cumulative (Go's client sends cumulative ones, the server then
 *                          subtracts); inuse_*, resident_space and committed_space are
 *                          levels, so "average"
 *
 * libcurl does the HTTP (and HTTPS, proxies, user:password@ in the URL).
 */
#ifndef MEMPROF_PUSH_H
#define MEMPROF_PUSH_H

#include <stddef.h>
#include <stdint.h>

struct mp_push_target {
	const char *url;             /* the server's base URL, e.g. http://pyroscope:4040 */
	const char *app;             /* the application name */
	const char *const *labels;   /* "KEY=VALUE" each (mp_push_label_check) */
	size_t label_count;
	long timeout_ms;             /* for the whole request, connection included */
};

/* 0 if `label` is KEY=VALUE with a KEY of [A-Za-z_][A-Za-z0-9_]* and a VALUE that is
 * not empty and has none of ",{}=" nor control characters (the characters that would
 * change the meaning of the name APP{labels}); -EINVAL otherwise. */
int mp_push_label_check(const char *label);
/* The same rule for the application name: not empty, none of ",{}=", no spaces or
 * control characters. 0 or -EINVAL. */
int mp_push_app_check(const char *app);

/* An application name made from a program's file name: the characters mp_push_app_check
 * refuses become '_'; "memprof" for an empty one. */
void mp_push_app_from(const char *program, char *buf, size_t len);

/* The ingest endpoint for messages: URL/ingest, without the query. */
void mp_push_endpoint(const char *url, char *buf, size_t len);

/* Sends `size` bytes of gzipped profile covering UNIX seconds [from, until]. Returns 0 on
 * a 2xx answer; otherwise a negative code with one line in err saying what went wrong
 * (cannot connect and why, no answer in time, or the server's status, reason and the
 * start of its message), without the URL. */
int mp_push_send(const struct mp_push_target *target, const uint8_t *profile, size_t size,
		 uint64_t from, uint64_t until, char *err, size_t err_len);

#endif
