/* test_debug_cache.c: the cache of inflated debug images on disk.
 *
 * Uses the compressed test program of elf_fixture.h and a cache directory of its own
 * (MEMPROF_DEBUG_CACHE).
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "debug_cache.h"
#include "debug_inflate.h"
#include "elf_fixture.h"

static char scratch[PATH_MAX], cache[PATH_MAX], entry[PATH_MAX];
static uint8_t build_id[64];
static size_t build_id_len;

/* out = a followed by b, which must fit. */
static void join(char *out, size_t len, const char *a, const char *b)
{
	int written = snprintf(out, len, "%s%s", a, b);
	assert_true(written > 0 && (size_t)written < len);
}

/* Files in the cache directory (entries and temporaries). */
static int count_files(void)
{
	DIR *dir = opendir(cache);
	if (!dir)
		return 0;
	int count = 0;
	for (struct dirent *ent; (ent = readdir(dir)) != NULL;)
		count += ent->d_name[0] != '.' || strlen(ent->d_name) > 2;
	closedir(dir);
	return count;
}

static int same_file(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Opens through the cache and checks the result is a good image of the fixture. */
static int cache_open_checked(void)
{
	int fd = mp_test_open_compressed();
	int image = mp_debug_cache_open(fd, build_id, build_id_len);
	close(fd);
	assert_true(image >= 0);
	assert_int_equal(mp_debug_image_check(image, build_id, build_id_len), 0);
	return image;
}

static int setup(void **state)
{
	(void)state;
	int fd = mp_test_open_compressed();
	build_id_len = mp_test_read_build_id(fd, build_id, sizeof(build_id));
	close(fd);
	char hex[129] = "";
	for (size_t i = 0; i < build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", build_id[i]);
	char top[] = "/tmp/memprof-cache-test-XXXXXX";
	if (!mkdtemp(top))
		return -1;
	snprintf(scratch, sizeof(scratch), "%s", top);
	snprintf(cache, sizeof(cache), "%s/a/b", top); /* directories made on first store */
	char name[160];
	snprintf(name, sizeof(name), "/%s.debug", hex);
	join(entry, sizeof(entry), cache, name);
	return build_id_len ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int fresh_cache(void **state)
{
	(void)state;
	setenv("MEMPROF_DEBUG_CACHE", cache, 1);
	unlink(entry);
	return 0;
}

static void test_first_open_stores_the_next_reads_it(void **state)
{
	(void)state;
	int first = cache_open_checked();
	/* Made in memory now, and stored whole (directories made on the way). */
	assert_false(same_file(first, entry));
	struct stat st;
	assert_int_equal(stat(entry, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct stat image_st;
	assert_int_equal(fstat(first, &image_st), 0);
	assert_int_equal(st.st_size, image_st.st_size);
	assert_int_equal(count_files(), 1); /* no temporary left */

	int second = cache_open_checked();
	assert_true(same_file(second, entry));
	/* Same bytes as the image made the first time. */
	char *a = malloc((size_t)st.st_size), *b = malloc((size_t)st.st_size);
	assert_int_equal(pread(first, a, (size_t)st.st_size, 0), st.st_size);
	assert_int_equal(pread(second, b, (size_t)st.st_size, 0), st.st_size);
	assert_memory_equal(a, b, (size_t)st.st_size);
	free(a);
	free(b);
	close(first);
	close(second);
}

static void corrupt_entry(off_t keep)
{
	assert_int_equal(truncate(entry, keep), 0);
}

static void test_a_bad_entry_is_replaced(void **state)
{
	(void)state;
	close(cache_open_checked());
	corrupt_entry(100); /* cut short: the section table is gone */
	int image = cache_open_checked();
	assert_false(same_file(image, entry)); /* made again ... */
	close(image);
	image = cache_open_checked();
	assert_true(same_file(image, entry)); /* ... and stored again */
	close(image);

	/* An entry of another build under this name (the test program itself). */
	int other = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), out = open(entry, O_WRONLY | O_TRUNC);
	char buf[65536];
	ssize_t got;
	while ((got = read(other, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)got), got);
	close(other);
	close(out);
	image = cache_open_checked();
	assert_false(same_file(image, entry));
	close(image);
}

static void test_turned_off_or_unusable_the_image_is_still_made(void **state)
{
	(void)state;
	setenv("MEMPROF_DEBUG_CACHE", "0", 1);
	close(cache_open_checked());
	assert_int_equal(access(entry, F_OK), -1);

	/* A directory that cannot be made: its parent is a regular file. */
	char blocked[PATH_MAX + 16];
	snprintf(blocked, sizeof(blocked), "%s/not-a-dir", cache);
	mkdir(cache, 0700);
	int file = open(blocked, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(file >= 0);
	close(file);
	strcat(blocked, "/cache");
	setenv("MEMPROF_DEBUG_CACHE", blocked, 1);
	close(cache_open_checked());

	/* Without the variable: XDG_CACHE_HOME's memprof/debug. */
	unsetenv("MEMPROF_DEBUG_CACHE");
	char xdg[PATH_MAX];
	join(xdg, sizeof(xdg), cache, "/xdg");
	setenv("XDG_CACHE_HOME", xdg, 1);
	close(cache_open_checked());
	char stored[PATH_MAX * 2];
	snprintf(stored, sizeof(stored), "%s/memprof/debug/%s", xdg, strrchr(entry, '/') + 1);
	assert_int_equal(access(stored, F_OK), 0);
	unsetenv("XDG_CACHE_HOME");
}

/* A file of `kib` KiB last used `age` seconds ago. */
static void make_file(const char *name, int kib, int age)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", cache, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	char block[1024];
	memset(block, 'x', sizeof(block));
	for (int i = 0; i < kib; i++)
		assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	struct timeval times[2];
	gettimeofday(&times[0], NULL);
	times[0].tv_sec -= age;
	times[1] = times[0];
	assert_int_equal(futimes(fd, times), 0);
	close(fd);
}

static int exists(const char *name)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", cache, name);
	return access(path, F_OK) == 0;
}

static void test_trim_drops_the_least_recently_used(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", cache);
	join(cache, sizeof(cache), dir, "/trim");
	mkdir(cache, 0700);
	make_file("old.debug", 64, 300);
	make_file("mid.debug", 64, 200);
	make_file("new.debug", 64, 100);
	make_file("keep.txt", 64, 400);          /* not an entry */
	make_file(".x.1.tmp", 4, 7200);           /* a writer's leftover */
	make_file(".y.2.tmp", 4, 10);             /* a writer at work */
	mp_debug_cache_trim(cache, 150 * 1024);
	assert_false(exists("old.debug"));
	assert_true(exists("mid.debug"));
	assert_true(exists("new.debug"));
	assert_true(exists("keep.txt"));
	assert_false(exists(".x.1.tmp"));
	assert_true(exists(".y.2.tmp"));
	mp_debug_cache_trim(cache, 0);
	assert_false(exists("mid.debug"));
	assert_false(exists("new.debug"));
	assert_true(exists("keep.txt"));
	snprintf(cache, sizeof(cache), "%s", dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_first_open_stores_the_next_reads_it, fresh_cache),
		cmocka_unit_test_setup(test_a_bad_entry_is_replaced, fresh_cache),
		cmocka_unit_test_setup(test_turned_off_or_unusable_the_image_is_still_made,
				       fresh_cache),
		cmocka_unit_test(test_trim_drops_the_least_recently_used),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
