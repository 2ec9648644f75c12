/* curl_api.c: libcurl loaded with dlopen when `memprof push` (or `run --push`) first needs
 * it, not linked.
 *
 * Linked, libcurl and the 28 libraries it pulls in (TLS, Kerberos, LDAP, SSH, IDN...)
 * were loaded and relocated by every command: 5.0 ms of CPU for `memprof --help`, 1.1 ms
 * without them, on every report a CI job asks for; and a machine without them could not
 * run memprof at all. Only pushing needs them. The headers still come from
 * libcurl4-openssl-dev, and this is that package's library (libcurl.so.4).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "curl_api.h"

#define CURL_LIBRARY "libcurl.so.4"

static struct mp_curl_api api;
static int loaded; /* 1: api is filled; -1: it could not be */
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* Looks one function up: 0, or -1 with load_error set. */
static int curl_symbol(void *library, const char *name, void **out)
{
	*out = dlsym(library, name);
	if (*out)
		return 0;
	snprintf(load_error, sizeof(load_error), "%s has no %s", CURL_LIBRARY, name);
	return -1;
}

static int curl_load_library(void)
{
	void *library = dlopen(CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!library) {
		snprintf(load_error, sizeof(load_error),
			 "cannot load %s (Debian's libcurl4 package): %s", CURL_LIBRARY, dlerror());
		return -1;
	}
	struct {
		const char *name;
		void **slot;
	} symbols[] = {
		{ "curl_easy_init", (void **)&api.easy_init },
		{ "curl_easy_setopt", (void **)&api.easy_setopt },
		{ "curl_easy_perform", (void **)&api.easy_perform },
		{ "curl_easy_getinfo", (void **)&api.easy_getinfo },
		{ "curl_easy_strerror", (void **)&api.easy_strerror },
		{ "curl_easy_escape", (void **)&api.easy_escape },
		{ "curl_easy_cleanup", (void **)&api.easy_cleanup },
		{ "curl_free", (void **)&api.free },
		{ "curl_mime_init", (void **)&api.mime_init },
		{ "curl_mime_addpart", (void **)&api.mime_addpart },
		{ "curl_mime_name", (void **)&api.mime_name },
		{ "curl_mime_filename", (void **)&api.mime_filename },
		{ "curl_mime_type", (void **)&api.mime_type },
		{ "curl_mime_data", (void **)&api.mime_data },
		{ "curl_mime_free", (void **)&api.mime_free },
		{ "curl_slist_append", (void **)&api.slist_append },
		{ "curl_slist_free_all", (void **)&api.slist_free_all },
	};
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++)
		if (curl_symbol(library, symbols[i].name, symbols[i].slot) < 0)
			return -1; /* the library stays loaded: harmless, and it is not reused */
	return 0;
}

static void curl_load(void)
{
	loaded = curl_load_library() == 0 ? 1 : -1;
}

const struct mp_curl_api *mp_curl_api(char *err, size_t err_len)
{
	pthread_once(&load_once, curl_load);
	if (loaded > 0)
		return &api;
	snprintf(err, err_len, "%s", load_error);
	return NULL;
}
