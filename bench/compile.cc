// compile.cc: what bench/programs.sh has g++'s cc1plus compile at -O2: a small program
// over much of the C++17 standard library (containers, algorithms, regex, streams,
// smart pointers, std::function), so that the compiler parses 130k lines of headers and
// instantiates and optimizes thousands of templates: several seconds of a compiler's
// work with millions of allocations, the long run beside cc1's short one. It is only
// compiled, never run.
#include <bits/stdc++.h>

using namespace std;

template <class Key, class Value>
static map<Key, vector<Value>> group(const vector<pair<Key, Value>> &items)
{
	map<Key, vector<Value>> out;
	for (const auto &[key, value] : items)
		out[key].push_back(value);
	return out;
}

struct Record {
	string name;
	int age;
	double score;
	vector<string> tags;
};

// Lines of "name,age,score,tag;tag;...".
static vector<Record> parse(istream &in)
{
	vector<Record> records;
	const regex pattern("(\\w+),(\\d+),([0-9.]+),(.*)");
	string line;
	while (getline(in, line)) {
		smatch match;
		if (!regex_match(line, match, pattern))
			continue;
		Record record{ match[1], stoi(match[2]), stod(match[3]), {} };
		stringstream tags(match[4]);
		string tag;
		while (getline(tags, tag, ';'))
			record.tags.push_back(tag);
		records.push_back(move(record));
	}
	return records;
}

// Per tag: the mean score, the spread and the count, best mean first.
static vector<tuple<string, double, double, size_t>> tag_stats(const vector<Record> &records)
{
	vector<pair<string, double>> scores;
	for (const auto &record : records)
		for (const auto &tag : record.tags)
			scores.emplace_back(tag, record.score);
	unordered_map<string, tuple<double, double, size_t>> stats;
	for (const auto &[tag, values] : group(scores)) {
		double sum = accumulate(values.begin(), values.end(), 0.0);
		auto [low, high] = minmax_element(values.begin(), values.end());
		stats[tag] = { sum / values.size(), *high - *low, values.size() };
	}
	vector<tuple<string, double, double, size_t>> out;
	for (const auto &[tag, stat] : stats)
		out.emplace_back(tag, get<0>(stat), get<1>(stat), get<2>(stat));
	sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return get<1>(a) > get<1>(b); });
	return out;
}

// The names of the ten best scores, best last.
static deque<string> best_ten(const vector<Record> &records)
{
	priority_queue<pair<double, string>> queue;
	for (const auto &record : records)
		queue.emplace(record.score, record.name);
	deque<string> best;
	while (!queue.empty() && best.size() < 10) {
		best.push_front(queue.top().second);
		queue.pop();
	}
	return best;
}

int main()
{
	const auto records = parse(cin);
	for (const auto &[tag, mean, spread, count] : tag_stats(records))
		cout << tag << ' ' << fixed << setprecision(2) << mean << ' ' << spread << ' '
		     << count << '\n';
	set<int> ages;
	for (const auto &record : records)
		ages.insert(record.age);
	cout << ages.size() << ' ' << best_ten(records).size() << '\n';
	auto first = make_shared<Record>(records.empty() ? Record{} : records.front());
	function<int(int)> older = [&](int years) { return years + first->age; };
	cout << older(1) << endl;
	return 0;
}
