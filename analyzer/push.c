/* push.c: one profile POSTed to a Pyroscope-compatible /ingest with libcurl (push.h),
 * loaded on the first push (curl_api.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_api.h"
#include "push.h"

/* libcurl's functions, set by mp_push_send before anything else here runs. */
static const struct mp_curl_api *curl_fn;

/* Units and aggregation per sample type (Pyroscope's SampleTypeConfig). */
static const char push_sample_type_config[] =
	"{\"alloc_objects\":{\"units\":\"objects\",\"aggregation\":\"sum\"},"
	"\"alloc_space\":{\"units\":\"bytes\",\"aggregation\":\"sum\"},"
	"\"resident_space\":{\"units\":\"bytes\",\"aggregation\":\"average\"},"
	"\"committed_space\":{\"units\":\"bytes\",\"aggregation\":\"average\"},"
	"\"inuse_objects\":{\"units\":\"objects\",\"aggregation\":\"average\"},"
	"\"inuse_space\":{\"units\":\"bytes\",\"aggregation\":\"average\"}}";

/* What the server said: its status line and the start of its body. */
struct push_answer {
	char status_line[160];
	char body[512];
	size_t body_len;
};

static int push_name_char(int c, int first)
{
	return c == '_' || isalpha(c) || (!first && isdigit(c));
}

static int push_value_ok(const char *value)
{
	if (!*value)
		return 0;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 0x20 || *p == 0x7f || strchr(",{}=", *p))
			return 0;
	return 1;
}

int mp_push_label_check(const char *label)
{
	const char *equals = strchr(label, '=');
	if (!equals || equals == label)
		return -EINVAL;
	for (const char *p = label; p < equals; p++)
		if (!push_name_char((unsigned char)*p, p == label))
			return -EINVAL;
	return push_value_ok(equals + 1) ? 0 : -EINVAL;
}

int mp_push_app_check(const char *app)
{
	if (!push_value_ok(app))
		return -EINVAL;
	return strchr(app, ' ') ? -EINVAL : 0;
}

void mp_push_app_from(const char *program, char *buf, size_t len)
{
	snprintf(buf, len, "%s", program && *program ? program : "memprof");
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr(",{}=", *p))
			*p = '_';
}

/* The URL without its trailing slashes: its length. */
static size_t push_base_len(const char *url)
{
	size_t len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	return len;
}

void mp_push_endpoint(const char *url, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s/ingest", (int)push_base_len(url), url);
}

/* APP{k=v,...}, URL-escaped. NULL on -ENOMEM; free with curl_fn->free. */
static char *push_name(CURL *curl, const struct mp_push_target *target)
{
	size_t len = strlen(target->app) + 3;
	for (size_t i = 0; i < target->label_count; i++)
		len += strlen(target->labels[i]) + 1;
	char *name = malloc(len);
	if (!name)
		return NULL;
	size_t at = (size_t)snprintf(name, len, "%s", target->app);
	for (size_t i = 0; i < target->label_count; i++)
		at += (size_t)snprintf(name + at, len - at, "%c%s", i ? ',' : '{', target->labels[i]);
	if (target->label_count)
		snprintf(name + at, len - at, "}");
	char *escaped = curl_fn->easy_escape(curl, name, 0);
	free(name);
	return escaped;
}

static char *push_url(CURL *curl, const struct mp_push_target *target, uint64_t from,
		      uint64_t until)
{
	char *name = push_name(curl, target);
	if (!name)
		return NULL;
	size_t len = strlen(target->url) + strlen(name) + 128;
	char *url = malloc(len);
	if (url)
		snprintf(url, len, "%.*s/ingest?name=%s&from=%llu&until=%llu&format=pprof"
			 "&spyName=memprof", (int)push_base_len(target->url), target->url, name,
			 (unsigned long long)from, (unsigned long long)until);
	curl_fn->free(name);
	return url;
}

static size_t push_on_body(char *data, size_t size, size_t count, void *context)
{
	struct push_answer *answer = context;
	size_t len = size * count, room = sizeof(answer->body) - 1 - answer->body_len;
	memcpy(answer->body + answer->body_len, data, len < room ? len : room);
	answer->body_len += len < room ? len : room;
	answer->body[answer->body_len] = '\0';
	return len;
}

/* Keeps the last status line ("HTTP/1.1 500 Internal Server Error"): after a redirect or
 * a 100 Continue, the last one is the answer. */
static size_t push_on_header(char *data, size_t size, size_t count, void *context)
{
	struct push_answer *answer = context;
	size_t len = size * count;
	if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
		size_t keep = len < sizeof(answer->status_line) - 1 ? len : sizeof(answer->status_line) - 1;
		memcpy(answer->status_line, data, keep);
		answer->status_line[keep] = '\0';
		answer->status_line[strcspn(answer->status_line, "\r\n")] = '\0';
	}
	return len;
}

/* The multipart form: the profile and its sample types' config, both as files (the
 * Pyroscope server reads them from the form's files). NULL on failure. */
static curl_mime *push_form(CURL *curl, const uint8_t *profile, size_t size)
{
	curl_mime *form = curl_fn->mime_init(curl);
	curl_mimepart *part = form ? curl_fn->mime_addpart(form) : NULL;
	if (!part || curl_fn->mime_name(part, "profile") ||
	    curl_fn->mime_filename(part, "profile.pprof") ||
	    curl_fn->mime_type(part, "application/octet-stream") ||
	    curl_fn->mime_data(part, (const char *)profile, size))
		goto fail;
	part = curl_fn->mime_addpart(form);
	if (!part || curl_fn->mime_name(part, "sample_type_config") ||
	    curl_fn->mime_filename(part, "sample_type_config.json") ||
	    curl_fn->mime_type(part, "application/json") ||
	    curl_fn->mime_data(part, push_sample_type_config, CURL_ZERO_TERMINATED))
		goto fail;
	return form;
fail:
	curl_fn->mime_free(form);
	return NULL;
}

/* The reason phrase of the status line ("Internal Server Error"), or "". */
static const char *push_reason(const struct push_answer *answer)
{
	const char *space = strchr(answer->status_line, ' ');
	space = space ? strchr(space + 1, ' ') : NULL;
	return space ? space + 1 : "";
}

/* The answer's first line, control characters made spaces, for one line of message. */
static void push_message(struct push_answer *answer)
{
	answer->body[strcspn(answer->body, "\r\n")] = '\0';
	for (char *p = answer->body; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

static void push_describe(CURL *curl, CURLcode code, const char *curl_err,
			  const struct mp_push_target *target, char *err, size_t err_len)
{
	long os_errno = 0;
	curl_fn->easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
	if (code == CURLE_COULDNT_CONNECT && os_errno)
		snprintf(err, err_len, "cannot connect: %s", strerror((int)os_errno));
	else if (code == CURLE_OPERATION_TIMEDOUT)
		snprintf(err, err_len, "no answer within %.1f s (timed out)",
			 (double)target->timeout_ms / 1000.0);
	else
		snprintf(err, err_len, "%s", curl_err[0] ? curl_err : curl_fn->easy_strerror(code));
}

static int push_perform(CURL *curl, const struct mp_push_target *target,
			struct push_answer *answer, char *err, size_t err_len)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	curl_fn->easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_fn->easy_setopt(curl, CURLOPT_WRITEFUNCTION, push_on_body);
	curl_fn->easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	curl_fn->easy_setopt(curl, CURLOPT_HEADERFUNCTION, push_on_header);
	curl_fn->easy_setopt(curl, CURLOPT_HEADERDATA, answer);
	curl_fn->easy_setopt(curl, CURLOPT_TIMEOUT_MS, target->timeout_ms);
	curl_fn->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_fn->easy_setopt(curl, CURLOPT_USERAGENT, "memprof");
	CURLcode code = curl_fn->easy_perform(curl);
	if (code != CURLE_OK) {
		push_describe(curl, code, curl_err, target, err, err_len);
		return -EIO;
	}
	long status = 0;
	curl_fn->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return 0;
	push_message(answer);
	const char *reason = push_reason(answer);
	snprintf(err, err_len, "the server answered %ld%s%s%s%s", status, *reason ? " " : "",
		 reason, answer->body[0] ? ": " : "", answer->body);
	return -EPROTO;
}

int mp_push_send(const struct mp_push_target *target, const uint8_t *profile, size_t size,
		 uint64_t from, uint64_t until, char *err, size_t err_len)
{
	curl_fn = mp_curl_api(err, err_len);
	if (!curl_fn)
		return -ENOSYS;
	CURL *curl = curl_fn->easy_init();
	char *url = curl ? push_url(curl, target, from, until) : NULL;
	curl_mime *form = url ? push_form(curl, profile, size) : NULL;
	/* No "Expect: 100-continue": a second round trip for nothing, and some small servers
	 * do not answer it. */
	struct curl_slist *headers = form ? curl_fn->slist_append(NULL, "Expect:") : NULL;
	struct push_answer answer = { "", "", 0 };
	int rc = -ENOMEM;
	snprintf(err, err_len, "out of memory");
	if (headers) {
		curl_fn->easy_setopt(curl, CURLOPT_URL, url);
		curl_fn->easy_setopt(curl, CURLOPT_MIMEPOST, form);
		curl_fn->easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		rc = push_perform(curl, target, &answer, err, err_len);
	}
	curl_fn->slist_free_all(headers);
	curl_fn->mime_free(form);
	free(url);
	curl_fn->easy_cleanup(curl);
	return rc;
}
