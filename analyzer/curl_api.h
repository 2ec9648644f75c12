/* curl_api.h: the libcurl functions `memprof push` calls, loaded when it first pushes. */
#ifndef MEMPROF_ANALYZER_CURL_API_H
#define MEMPROF_ANALYZER_CURL_API_H

#include <stddef.h>

#include <curl/curl.h>

struct mp_curl_api {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	char *(*easy_escape)(CURL *curl, const char *string, int length);
	void (*easy_cleanup)(CURL *curl);
	void (*free)(void *pointer);
	curl_mime *(*mime_init)(CURL *curl);
	curl_mimepart *(*mime_addpart)(curl_mime *mime);
	CURLcode (*mime_name)(curl_mimepart *part, const char *name);
	CURLcode (*mime_filename)(curl_mimepart *part, const char *filename);
	CURLcode (*mime_type)(curl_mimepart *part, const char *type);
	CURLcode (*mime_data)(curl_mimepart *part, const char *data, size_t size);
	void (*mime_free)(curl_mime *mime);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
	void (*slist_free_all)(struct curl_slist *list);
};

/* libcurl's functions, loaded on the first call; NULL with a sentence in err if it
 * cannot be. */
const struct mp_curl_api *mp_curl_api(char *err, size_t err_len);

#endif
