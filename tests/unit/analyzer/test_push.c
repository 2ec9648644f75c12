/* test_push.c: what `memprof push` accepts as labels and application names, and the
 * endpoint it names (the HTTP exchange itself is tests/integration/cli_pprof.sh's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "push.h"

static void labels_are_key_equals_value(void **state)
{
	(void)state;
	assert_int_equal(mp_push_label_check("env=prod"), 0);
	assert_int_equal(mp_push_label_check("_region2=eu-west-1"), 0);
	assert_int_equal(mp_push_label_check("pod=api-7f9c/x:1"), 0);
	assert_int_not_equal(mp_push_label_check("env"), 0);
	assert_int_not_equal(mp_push_label_check("=prod"), 0);
	assert_int_not_equal(mp_push_label_check("env="), 0);
	assert_int_not_equal(mp_push_label_check("2env=prod"), 0);
	assert_int_not_equal(mp_push_label_check("my-env=prod"), 0);
	/* Characters that would change what APP{labels} means. */
	assert_int_not_equal(mp_push_label_check("env=a,b"), 0);
	assert_int_not_equal(mp_push_label_check("env=a}"), 0);
	assert_int_not_equal(mp_push_label_check("env=a=b"), 0);
	assert_int_not_equal(mp_push_label_check("env=a\nb"), 0);
}

static void application_names(void **state)
{
	char app[64];
	(void)state;
	assert_int_equal(mp_push_app_check("shop.cart-api"), 0);
	assert_int_not_equal(mp_push_app_check(""), 0);
	assert_int_not_equal(mp_push_app_check("my app"), 0);
	assert_int_not_equal(mp_push_app_check("app{env=x}"), 0);
	mp_push_app_from("my app{1}", app, sizeof(app));
	assert_string_equal(app, "my_app_1_");
	mp_push_app_from("", app, sizeof(app));
	assert_string_equal(app, "memprof");
	mp_push_app_from(NULL, app, sizeof(app));
	assert_string_equal(app, "memprof");
}

static void endpoint_drops_trailing_slashes(void **state)
{
	char endpoint[128];
	(void)state;
	mp_push_endpoint("http://pyroscope:4040//", endpoint, sizeof(endpoint));
	assert_string_equal(endpoint, "http://pyroscope:4040/ingest");
	mp_push_endpoint("https://h/prefix", endpoint, sizeof(endpoint));
	assert_string_equal(endpoint, "https://h/prefix/ingest");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(labels_are_key_equals_value),
		cmocka_unit_test(application_names),
		cmocka_unit_test(endpoint_drops_trailing_slashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
