/* debug_cache.c: inflated debug images on disk, one file per build-id. */
#include "debug_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "debug_inflate.h"

#define CACHE_SUFFIX ".debug"
#define CACHE_TEMP_SUFFIX ".tmp"
#define CACHE_MAX_ID 64                 /* bytes of build-id; GNU ones are 20 */
#define CACHE_STALE_TEMP_SECONDS 3600

/* The cache directory, into dir[]: 0, or -1 when the cache is off or has no place. */
static int cache_dir(char *dir, size_t len)
{
	const char *setting = getenv("MEMPROF_DEBUG_CACHE"), *base;
	int written;
	if (setting && setting[0]) {
		if (setting[0] != '/')
			return -1; /* "0", or anything that is not an absolute path */
		written = snprintf(dir, len, "%s", setting);
	} else if ((base = getenv("XDG_CACHE_HOME")) && base[0] == '/') {
		written = snprintf(dir, len, "%s/memprof/debug", base);
	} else if ((base = getenv("HOME")) && base[0] == '/') {
		written = snprintf(dir, len, "%s/.cache/memprof/debug", base);
	} else {
		return -1;
	}
	return written > 0 && (size_t)written < len ? 0 : -1;
}

/* Makes `dir` and the missing directories above it, private to the user. */
static int cache_make_dir(const char *dir)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path))
		return -1;
	for (char *at = path + 1;; at++) {
		if (*at != '/' && *at != '\0')
			continue;
		char kept = *at;
		*at = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
		*at = kept;
		if (!kept)
			return 0;
	}
}

static int cache_has_suffix(const char *name, const char *suffix)
{
	size_t len = strlen(name), suffix_len = strlen(suffix);
	return len > suffix_len && strcmp(name + len - suffix_len, suffix) == 0;
}

/* The entry's descriptor if it holds a good image of this build, else -1 (and a bad
 * entry is removed, to be written again). */
static int cache_read(const char *entry, const uint8_t *build_id, size_t build_id_len)
{
	int fd = open(entry, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (mp_debug_image_check(fd, build_id, build_id_len) == 0) {
		futimens(fd, NULL); /* most recently used; a read-only cache stays usable */
		return fd;
	}
	close(fd);
	unlink(entry);
	return -1;
}

static int cache_write_all(int fd, const uint8_t *bytes, size_t len, off_t at)
{
	while (len > 0) {
		ssize_t written = pwrite(fd, bytes, len, at);
		if (written < 0 && errno == EINTR)
			continue;
		if (written <= 0)
			return -1;
		bytes += written;
		len -= (size_t)written;
		at += written;
	}
	return 0;
}

/* Copies the image into `out`, its holes (where the compressed sections were) left as
 * holes, so that the entry takes on disk what the inflated sections take. */
static int cache_copy(int image, int out)
{
	struct stat st;
	if (fstat(image, &st) < 0 || st.st_size <= 0)
		return -1;
	size_t size = (size_t)st.st_size;
	const uint8_t *bytes = mmap(NULL, size, PROT_READ, MAP_SHARED, image, 0);
	if (bytes == MAP_FAILED)
		return -1;
	int rc = 0;
	for (off_t at = 0; rc == 0 && (size_t)at < size;) {
		off_t data = lseek(image, at, SEEK_DATA);
		if (data < 0)
			break; /* only a hole is left */
		off_t hole = lseek(image, data, SEEK_HOLE);
		if (hole < 0 || (size_t)hole > size)
			hole = (off_t)size;
		rc = cache_write_all(out, bytes + data, (size_t)(hole - data), data);
		at = hole;
	}
	munmap((void *)bytes, size);
	if (rc == 0 && ftruncate(out, (off_t)size) < 0)
		rc = -1;
	return rc;
}

/* Writes the image as `entry`, whole or not at all, then trims the directory. */
static void cache_store(const char *dir, const char *entry, const char *hex, int image)
{
	char temp[PATH_MAX];
	if (cache_make_dir(dir) < 0 ||
	    (size_t)snprintf(temp, sizeof(temp), "%s/.%s.%ld" CACHE_TEMP_SUFFIX, dir, hex,
			     (long)getpid()) >= sizeof(temp))
		return;
	int out = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return;
	int rc = cache_copy(image, out);
	if (close(out) < 0)
		rc = -1;
	if (rc == 0 && rename(temp, entry) == 0) {
		mp_debug_cache_trim(dir, MP_DEBUG_CACHE_MAX_BYTES);
		return;
	}
	unlink(temp);
}

int mp_debug_cache_open(int debug_fd, const uint8_t *build_id, size_t build_id_len)
{
	char dir[PATH_MAX], entry[PATH_MAX], hex[2 * CACHE_MAX_ID + 1];
	int cached = build_id_len > 0 && build_id_len <= CACHE_MAX_ID &&
		     cache_dir(dir, sizeof(dir)) == 0;
	if (cached) {
		for (size_t i = 0; i < build_id_len; i++)
			snprintf(hex + 2 * i, 3, "%02x", build_id[i]);
		cached = (size_t)snprintf(entry, sizeof(entry), "%s/%s" CACHE_SUFFIX, dir, hex) <
			 sizeof(entry);
	}
	if (cached) {
		int fd = cache_read(entry, build_id, build_id_len);
		if (fd >= 0)
			return fd;
	}
	int image = mp_debug_inflate(debug_fd, build_id, build_id_len);
	if (image >= 0 && cached)
		cache_store(dir, entry, hex, image);
	return image;
}

/* ---- trimming ---- */

struct cache_file {
	struct timespec used;
	uint64_t bytes;
	char name[NAME_MAX + 1];
};

static int cache_older_first(const void *left, const void *right)
{
	const struct cache_file *a = left, *b = right;
	if (a->used.tv_sec != b->used.tv_sec)
		return a->used.tv_sec < b->used.tv_sec ? -1 : 1;
	if (a->used.tv_nsec != b->used.tv_nsec)
		return a->used.tv_nsec < b->used.tv_nsec ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Lists the entries of `dir` into *files (removing stale temporaries on the way);
 * returns how many, and their total size in *total. */
static size_t cache_list(DIR *dir, struct cache_file **files, uint64_t *total)
{
	size_t count = 0, cap = 0;
	time_t now = time(NULL);
	struct dirent *ent;
	*files = NULL;
	*total = 0;
	while ((ent = readdir(dir)) != NULL) {
		struct stat st;
		if (fstatat(dirfd(dir), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (ent->d_name[0] == '.' && cache_has_suffix(ent->d_name, CACHE_TEMP_SUFFIX)) {
			if (now - st.st_mtime > CACHE_STALE_TEMP_SECONDS)
				unlinkat(dirfd(dir), ent->d_name, 0);
			continue;
		}
		if (!cache_has_suffix(ent->d_name, CACHE_SUFFIX))
			continue;
		if (count == cap) {
			size_t new_cap = cap ? cap * 2 : 16;
			struct cache_file *grown = realloc(*files, new_cap * sizeof(*grown));
			if (!grown)
				break;
			*files = grown;
			cap = new_cap;
		}
		struct cache_file *file = &(*files)[count++];
		file->used = st.st_mtim;
		file->bytes = (uint64_t)st.st_blocks * 512;
		snprintf(file->name, sizeof(file->name), "%s", ent->d_name);
		*total += file->bytes;
	}
	return count;
}

void mp_debug_cache_trim(const char *dir_path, uint64_t max_bytes)
{
	DIR *dir = opendir(dir_path);
	if (!dir)
		return;
	struct cache_file *files;
	uint64_t total;
	size_t count = cache_list(dir, &files, &total);
	if (total > max_bytes && count) {
		qsort(files, count, sizeof(*files), cache_older_first);
		for (size_t i = 0; i < count && total > max_bytes; i++)
			if (unlinkat(dirfd(dir), files[i].name, 0) == 0)
				total -= files[i].bytes;
	}
	free(files);
	closedir(dir);
}
