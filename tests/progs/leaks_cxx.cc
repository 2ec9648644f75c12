// leaks_cxx.cc: a `new` leaked inside a namespaced class method, for demangled names.
// The allocating line carries a LEAK_SITE marker that test_leaks_json.c looks up. No
// iostream: its buffers would be leaks of the C++ library's.

namespace ns {

class Widget {
public:
	static Widget *make(int seed);
	char payload[8888];
};

Widget *Widget::make(int seed)
{
	Widget *widget = new Widget(); // LEAK_SITE:cxx_new
	widget->payload[0] = (char)seed;
	return widget;
}

} // namespace ns

static ns::Widget *kept;

int main()
{
	delete ns::Widget::make(1);
	kept = ns::Widget::make(2);
	return kept->payload[0] != 2;
}
