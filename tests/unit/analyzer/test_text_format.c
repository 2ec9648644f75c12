/* test_text_format.c: thousands separators, byte figures with units, plurals, and C++
 * names with their template arguments elided (short_names.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "short_names.h"
#include "text_format.h"

static void counts_get_a_comma_every_three_digits(void **state)
{
	char buf[MP_FMT_LEN];
	(void)state;
	assert_string_equal(mp_fmt_count(buf, sizeof(buf), 0), "0");
	assert_string_equal(mp_fmt_count(buf, sizeof(buf), 999), "999");
	assert_string_equal(mp_fmt_count(buf, sizeof(buf), 1000), "1,000");
	assert_string_equal(mp_fmt_count(buf, sizeof(buf), 20002000), "20,002,000");
	assert_string_equal(mp_fmt_count(buf, sizeof(buf), 123456), "123,456");
	assert_string_equal(mp_fmt_count(buf, sizeof(buf), UINT64_MAX), "18,446,744,073,709,551,615");
	/* Cut to the buffer, never past it. */
	char small[4];
	assert_string_equal(mp_fmt_count(small, sizeof(small), 123456), "123");
}

static void nouns_agree_with_their_count(void **state)
{
	char buf[MP_FMT_LEN];
	(void)state;
	assert_string_equal(mp_fmt_counted(buf, sizeof(buf), 1, "block", "blocks"), "1 block");
	assert_string_equal(mp_fmt_counted(buf, sizeof(buf), 0, "block", "blocks"), "0 blocks");
	assert_string_equal(mp_fmt_counted(buf, sizeof(buf), 1001, "leak", "leaks"), "1,001 leaks");
	assert_string_equal(mp_plural(1, "stack", "stacks"), "stack");
	assert_string_equal(mp_plural(2, "stack", "stacks"), "stacks");
}

static void bytes_are_exact_then_rounded(void **state)
{
	char buf[MP_FMT_LEN];
	(void)state;
	assert_string_equal(mp_fmt_bytes(buf, sizeof(buf), 1), "1 byte");
	assert_string_equal(mp_fmt_bytes(buf, sizeof(buf), 1023), "1,023 bytes");
	assert_string_equal(mp_fmt_bytes(buf, sizeof(buf), 4096), "4,096 bytes (4.0 KiB)");
	assert_string_equal(mp_fmt_bytes(buf, sizeof(buf), 20002000), "20,002,000 bytes (19.1 MiB)");
	assert_string_equal(mp_fmt_units(buf, sizeof(buf), 100), "100 B");
	assert_string_equal(mp_fmt_units(buf, sizeof(buf), 1536), "1.5 KiB");
	assert_string_equal(mp_fmt_units(buf, sizeof(buf), 3ull << 40), "3.0 TiB");
}

static void template_arguments_are_elided(void **state)
{
	char buf[256];
	(void)state;
	assert_string_equal(mp_short_name("std::vector<int, std::allocator<int> >::_M_realloc_insert"
					  "<int const&>(__gnu_cxx::__normal_iterator<int*, "
					  "std::vector<int> >, int const&)", buf, sizeof(buf)),
			    "std::vector<>::_M_realloc_insert<>(__gnu_cxx::__normal_iterator<>, "
			    "int const&)");
	assert_string_equal(mp_short_name("std::__cxx11::basic_string<char, std::char_traits<char>, "
					  "std::allocator<char> >::_M_create(unsigned long&, "
					  "unsigned long)", buf, sizeof(buf)),
			    "std::__cxx11::basic_string<>::_M_create(unsigned long&, unsigned long)");
}

/* Operators keep their angle brackets; a template of one still loses its arguments. */
static void operators_keep_their_brackets(void **state)
{
	char buf[256];
	(void)state;
	assert_string_equal(mp_short_name("std::operator<< <std::char_traits<char> >(std::ostream&, "
					  "char const*)", buf, sizeof(buf)),
			    "std::operator<< <>(std::ostream&, char const*)");
	assert_string_equal(mp_short_name("Map<int>::operator<(Map<int> const&) const", buf, sizeof(buf)),
			    "Map<>::operator<(Map<> const&) const");
	assert_string_equal(mp_short_name("Ptr<T>::operator->() const", buf, sizeof(buf)),
			    "Ptr<>::operator->() const");
	assert_string_equal(mp_short_name("a::operator<=>(a const&)", buf, sizeof(buf)),
			    "a::operator<=>(a const&)");
}

/* Rust's names: a leading <Type> or <Type as Trait> is the path of the method's type,
 * kept; generic arguments go, within it as elsewhere. */
static void rust_type_paths_stay(void **state)
{
	char buf[256];
	const char *method = "<std::sys::thread::unix::Thread>::new::thread_start";
	(void)state;
	assert_ptr_equal(mp_short_name(method, buf, sizeof(buf)), method);
	assert_string_equal(mp_short_name("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop",
					  buf, sizeof(buf)),
			    "<alloc::vec::Vec<> as core::ops::drop::Drop>::drop");
	assert_string_equal(mp_short_name("demo::generic::<usize>", buf, sizeof(buf)),
			    "demo::generic::<>");
	assert_string_equal(mp_short_name("<hashbrown::raw::RawTable<(u32, u64)>>::reserve_rehash::"
					  "<hashbrown::map::make_hasher<u32, u64>>",
					  buf, sizeof(buf)),
			    "<hashbrown::raw::RawTable<>>::reserve_rehash::<>");
}

/* Nothing to elide, unbalanced brackets, or no room: the name as it is. */
static void names_that_cannot_be_shortened_stay_whole(void **state)
{
	char buf[256], tiny[8];
	const char *plain = "parse_config", *unbalanced = "f<a(int)", *odd = "g>(x)";
	const char *empty_args = "h<>()", *long_name = "std::vector<int>::push_back";
	const char *open_path = "<demo::Holder::new";
	(void)state;
	assert_ptr_equal(mp_short_name(plain, buf, sizeof(buf)), plain);
	assert_ptr_equal(mp_short_name(unbalanced, buf, sizeof(buf)), unbalanced);
	assert_ptr_equal(mp_short_name(odd, buf, sizeof(buf)), odd);
	assert_ptr_equal(mp_short_name(empty_args, buf, sizeof(buf)), empty_args);
	assert_ptr_equal(mp_short_name(open_path, buf, sizeof(buf)), open_path);
	assert_ptr_equal(mp_short_name(long_name, tiny, sizeof(tiny)), long_name);
	assert_null(mp_short_name(NULL, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_get_a_comma_every_three_digits),
		cmocka_unit_test(nouns_agree_with_their_count),
		cmocka_unit_test(bytes_are_exact_then_rounded),
		cmocka_unit_test(template_arguments_are_elided),
		cmocka_unit_test(operators_keep_their_brackets),
		cmocka_unit_test(rust_type_paths_stay),
		cmocka_unit_test(names_that_cannot_be_shortened_stay_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
