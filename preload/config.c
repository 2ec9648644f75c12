/* config.c: the MEMPROF_* options, read once when recording starts.
 *
 *   MEMPROF_OUTPUT      trace path; %p is the pid, %e the executable's name
 *                       (default: memprof.%e.%p.trace in the working directory)
 *   MEMPROF_MAX_FRAMES  deepest stack recorded (default 64, at most 256)
 *   MEMPROF_QUIET=1     no line on stderr at exit
 *   MEMPROF_SAMPLE_BYTES=N  sample allocations, one per N bytes on average (suffixes
 *                       k, m, g in powers of 1024); 0 or unset: record every call
 *   MEMPROF_SAMPLE_WINDOW_MS=W  with sampling, a sampled block freed within W ms is
 *                       only counted per stack, not written (default 1000; 0: write
 *                       every sample; at most 3600000)
 *   MEMPROF_SAMPLE_SEED=S   start every thread's sampling generator from S (repeatable
 *                       runs of a deterministic program); default: from the clock
 *   MEMPROF_SNAPSHOT_MS=N   a memory snapshot every N milliseconds (default: none)
 *   MEMPROF_SNAPSHOT_SIGNAL=SIGUSR2  a snapshot whenever that signal arrives (a name with
 *                       or without SIG, or a number; default: none)
 *   MEMPROF_SNAPSHOT_EXIT=0 no snapshot at exit (default: one)
 *   MEMPROF_SNAPSHOT_PEAK=0 no snapshot when the heap reaches a new peak (default: taken,
 *                       at most one per 10% of growth and per 100 ms; never when sampling)
 *   MEMPROF_SNAPSHOT_ACCESS=1  each snapshot also says which resident memory was accessed
 *                       since the previous one (clears the referenced bits; default: off)
 *   MEMPROF_RSS_WATCH=0     no RSS watch: memprof's thread reads /proc/self/statm every
 *                       MEMPROF_RSS_WATCH_MS (default 10, at most 60000), records the RSS
 *                       series and snapshots each new RSS high (default: on)
 *   MEMPROF_LEAK_CHECK=0    no classification of unfreed blocks by reachability (no leak
 *                       check at exit, on a fatal signal or on demand)
 *   MEMPROF_LEAK_CHECK_MAX_MB=N  the most the leak check's address table may take
 *                       (default 1024)
 *   MEMPROF_LEAK_CHECK_SIGNAL=SIGUSR1  a leak check of the running process whenever that
 *                       signal arrives (a name with or without SIG, or a number; default:
 *                       none)
 *   MEMPROF_LEAK_HEURISTICS=none  memcheck's heuristics that count some interior pointers
 *                       as start pointers: all (default, as valgrind's), none, or a comma
 *                       list of stdstring, length64, newarray, multipleinheritance
 *   MEMPROF_LEAK_CHECK_FATAL=0  no handler of memprof's for the signals whose default
 *                       action ends the process and the program does not handle (default:
 *                       one, which takes a last snapshot, checks leaks where checks are on
 *                       and ends the trace; then the process dies of the signal as it
 *                       would have). Without it such a death leaves a trace with no end.
 * Every option is parsed here and nowhere else; the other files read mp_config.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

#define DEFAULT_OUTPUT "memprof.%e.%p.trace"
#define DEFAULT_SAMPLE_WINDOW_MS 1000u
#define DEFAULT_LEAK_CHECK_MAX_MB 1024u
#define DEFAULT_RSS_WATCH_MS 10u
#define MAX_RSS_WATCH_MS 60000u

struct mp_config mp_config;

static uint32_t parse_frames(const char *text)
{
	uint64_t value = 0;
	if (!*text)
		return MP_DEFAULT_MAX_FRAMES;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return MP_DEFAULT_MAX_FRAMES;
		value = value * 10 + (uint64_t)(*text - '0');
		if (value > MP_MAX_FRAMES_LIMIT)
			return MP_MAX_FRAMES_LIMIT;
	}
	return value == 0 ? 1 : (uint32_t)value;
}

/* "524288", "512k", "2M": bytes; 0 for anything else, which means no sampling. */
static uint64_t parse_bytes(const char *text)
{
	uint64_t value = 0;
	int digits = 0;
	for (; *text >= '0' && *text <= '9'; text++, digits++) {
		if (value > UINT64_MAX / 10 / 1024 / 1024 / 1024)
			return 0;
		value = value * 10 + (uint64_t)(*text - '0');
	}
	if (!digits)
		return 0;
	switch (*text) {
	case 'k': case 'K': value <<= 10; text++; break;
	case 'm': case 'M': value <<= 20; text++; break;
	case 'g': case 'G': value <<= 30; text++; break;
	default: break;
	}
	return *text ? 0 : value;
}

/* A decimal number below `limit`, else 0. */
static uint64_t parse_number(const char *text, uint64_t limit)
{
	uint64_t value = 0;
	if (!*text)
		return 0;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return 0;
		value = value * 10 + (uint64_t)(*text - '0');
		if (value >= limit)
			return 0;
	}
	return value;
}

/* "SIGUSR2", "USR2", "12", "SIGRTMIN+3": a signal number, 0 if unknown. SIGKILL and
 * SIGSTOP cannot be caught and are refused. */
static int parse_signal(const char *text)
{
	static const struct { const char *name; int number; } names[] = {
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP }, { "INT", SIGINT },
		{ "QUIT", SIGQUIT }, { "TERM", SIGTERM }, { "ALRM", SIGALRM }, { "PWR", SIGPWR },
		{ "URG", SIGURG }, { "WINCH", SIGWINCH }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	};
	if (strncmp(text, "SIG", 3) == 0)
		text += 3;
	if (*text >= '0' && *text <= '9') {
		int number = (int)parse_number(text, 65);
		return number == SIGKILL || number == SIGSTOP ? 0 : number;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(text, names[i].name) == 0)
			return names[i].number;
	if (strncmp(text, "RTMIN+", 6) == 0) {
		int offset = (int)parse_number(text + 6, 32);
		return SIGRTMIN + offset <= SIGRTMAX ? SIGRTMIN + offset : 0;
	}
	return strcmp(text, "RTMIN") == 0 ? SIGRTMIN : 0;
}

static void config_snapshots(void)
{
	char value[64];
	mp_config.snapshot_ms = 0;
	if (mp_sys_env_get("MEMPROF_SNAPSHOT_MS", value, sizeof(value)))
		mp_config.snapshot_ms = (uint32_t)parse_number(value, 1u << 31);
	mp_config.snapshot_signal = 0;
	if (mp_sys_env_get("MEMPROF_SNAPSHOT_SIGNAL", value, sizeof(value)))
		mp_config.snapshot_signal = parse_signal(value);
	mp_config.snapshot_exit = !(mp_sys_env_get("MEMPROF_SNAPSHOT_EXIT", value, sizeof(value)) &&
				    strcmp(value, "0") == 0);
	mp_config.snapshot_peak = !(mp_sys_env_get("MEMPROF_SNAPSHOT_PEAK", value, sizeof(value)) &&
				    strcmp(value, "0") == 0);
	mp_config.snapshot_access = mp_sys_env_get("MEMPROF_SNAPSHOT_ACCESS", value, sizeof(value)) &&
				    value[0] && strcmp(value, "0") != 0;
	/* The watch is on unless turned off; a period that does not parse is the default. */
	mp_config.rss_watch_ms = DEFAULT_RSS_WATCH_MS;
	if (mp_sys_env_get("MEMPROF_RSS_WATCH_MS", value, sizeof(value)) &&
	    parse_number(value, MAX_RSS_WATCH_MS + 1))
		mp_config.rss_watch_ms = (uint32_t)parse_number(value, MAX_RSS_WATCH_MS + 1);
	if (mp_sys_env_get("MEMPROF_RSS_WATCH", value, sizeof(value)) && strcmp(value, "0") == 0)
		mp_config.rss_watch_ms = 0;
}

/* MEMPROF_LEAK_HEURISTICS: valgrind's --leak-check-heuristics, the same words. A word it
 * does not know is left out, and said once. */
static uint32_t parse_heuristics(const char *value)
{
	static const struct {
		const char *name;
		uint32_t bits;
	} names[] = {
		{ "all", MP_HEURISTIC_ALL },
		{ "none", 0 },
		{ "stdstring", MP_HEURISTIC_STDSTRING },
		{ "length64", MP_HEURISTIC_LENGTH64 },
		{ "newarray", MP_HEURISTIC_NEWARRAY },
		{ "multipleinheritance", MP_HEURISTIC_MULTIPLEINHERITANCE },
	};
	uint32_t bits = 0;
	for (const char *at = value; *at;) {
		size_t len = strcspn(at, ",");
		size_t i = 0;
		while (i < sizeof(names) / sizeof(names[0]) &&
		       !(strlen(names[i].name) == len && memcmp(names[i].name, at, len) == 0))
			i++;
		if (i < sizeof(names) / sizeof(names[0]))
			bits |= names[i].bits;
		else if (len)
			mp_sys_say("MEMPROF_LEAK_HEURISTICS: a word is none of all, none, stdstring, "
				   "length64, newarray, multipleinheritance: left out");
		at += len + (at[len] == ',');
	}
	return bits;
}

/* MEMPROF_LEAK_CHECK_MAX_MB: the exit scan runs inside the program as it exits, and must
 * not be what pushes it past its memory limit. Digits up to the first other character;
 * empty means the default. */
static void config_leak_check(void)
{
	char value[24];
	mp_config.leak_check = !(mp_sys_env_get("MEMPROF_LEAK_CHECK", value, sizeof(value)) &&
				 strcmp(value, "0") == 0);
	uint64_t mib = DEFAULT_LEAK_CHECK_MAX_MB;
	if (mp_sys_env_get("MEMPROF_LEAK_CHECK_MAX_MB", value, sizeof(value)) && value[0]) {
		mib = 0;
		for (const char *at = value; *at >= '0' && *at <= '9' && mib < (1ull << 40); at++)
			mib = mib * 10 + (uint64_t)(*at - '0');
	}
	mp_config.leak_check_max_bytes = mib << 20;
	mp_config.leak_check_signal = 0;
	if (mp_sys_env_get("MEMPROF_LEAK_CHECK_SIGNAL", value, sizeof(value)))
		mp_config.leak_check_signal = parse_signal(value);
	mp_config.leak_check_fatal = !(mp_sys_env_get("MEMPROF_LEAK_CHECK_FATAL", value,
						      sizeof(value)) && strcmp(value, "0") == 0);
	char words[128];
	mp_config.leak_heuristics = MP_HEURISTIC_ALL;
	if (mp_sys_env_get("MEMPROF_LEAK_HEURISTICS", words, sizeof(words)) && words[0])
		mp_config.leak_heuristics = parse_heuristics(words);
}

void mp_config_load(void)
{
	char value[64];

	mp_config.quiet = mp_sys_env_get("MEMPROF_QUIET", value, sizeof(value)) && value[0] &&
			  strcmp(value, "0") != 0;
	mp_config.max_frames = MP_DEFAULT_MAX_FRAMES;
	mp_config.sample_bytes = 0;
	if (mp_sys_env_get("MEMPROF_SAMPLE_BYTES", value, sizeof(value)))
		mp_config.sample_bytes = parse_bytes(value);
	mp_config.sample_window_ms = DEFAULT_SAMPLE_WINDOW_MS;
	if (mp_sys_env_get("MEMPROF_SAMPLE_WINDOW_MS", value, sizeof(value)))
		mp_config.sample_window_ms = (uint32_t)parse_number(value, 3600001u);
	mp_config.sample_seed = 0;
	if (mp_sys_env_get("MEMPROF_SAMPLE_SEED", value, sizeof(value)))
		mp_config.sample_seed = parse_number(value, UINT64_MAX);
	if (mp_sys_env_get("MEMPROF_MAX_FRAMES", value, sizeof(value)))
		mp_config.max_frames = parse_frames(value);
	config_snapshots();
	config_leak_check();
	if (!mp_sys_env_get("MEMPROF_OUTPUT", mp_config.output_pattern,
			sizeof(mp_config.output_pattern)) ||
	    !mp_config.output_pattern[0])
		strcpy(mp_config.output_pattern, DEFAULT_OUTPUT);
}
