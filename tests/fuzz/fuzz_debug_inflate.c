/* fuzz_debug_inflate.c: libFuzzer entry point inflating arbitrary bytes as a debug file.
 *
 * The input is written to a memory file and given to mp_debug_inflate with the build-id
 * of the first GNU build-id note found in its bytes (so that mutations get past that
 * check), and to mp_debug_image_check. Invariants: an image that mp_debug_inflate makes
 * passes mp_debug_image_check, and no descriptor is left behind either way.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "debug_inflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int condition)
{
	if (!condition)
		abort();
}

/* The descriptor of the first GNU build-id note ("GNU\0" after a 12-byte note header of
 * type 3): its bytes and length; length 0 if there is none. */
static size_t fuzz_build_id(const uint8_t *data, size_t size, const uint8_t **id)
{
	for (size_t at = 12; at + 4 <= size; at++) {
		if (memcmp(data + at, "GNU", 4) != 0)
			continue;
		uint32_t namesz, descsz, type;
		memcpy(&namesz, data + at - 12, 4);
		memcpy(&descsz, data + at - 8, 4);
		memcpy(&type, data + at - 4, 4);
		if (namesz == 4 && type == 3 && descsz > 0 && descsz <= 64 && at + 4 + descsz <= size) {
			*id = data + at + 4;
			return descsz;
		}
	}
	return 0;
}

static int fuzz_open_fds(void)
{
	int count = 0;
	for (int fd = 0; fd < 256; fd++)
		count += fcntl(fd, F_GETFD) >= 0;
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t none[1];
	const uint8_t *id = none;
	size_t id_len = fuzz_build_id(data, size, &id);
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	fuzz_check(fd >= 0);
	fuzz_check(size == 0 || write(fd, data, size) == (ssize_t)size);
	int before = fuzz_open_fds();
	(void)mp_debug_image_check(fd, id, id_len);
	int image = mp_debug_inflate(fd, id, id_len);
	if (image >= 0) {
		fuzz_check(mp_debug_image_check(image, id, id_len) == 0);
		close(image);
	}
	fuzz_check(fuzz_open_fds() == before);
	close(fd);
	return 0;
}
