#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "lib/src/sampler.h"

using namespace moecpu;

namespace {
SamplerConfig plain(float temp) {
    SamplerConfig c;
    c.temperature = temp;
    c.top_k = 0;
    c.top_p = 1.0f;
    c.min_p = 0.0f;
    return c;
}
std::map<int32_t, int> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
    std::map<int32_t, int> h;
    for (int i = 0; i < draws; ++i) ++h[s.sample(logits.data(), {})];
    return h;
}
}  // namespace

TEST_CASE("greedy picks the argmax, lowest id on ties", "[sampler]") {
    Sampler s(5, plain(0.0f));
    std::vector<float> l = {0.1f, 2.0f, -1.0f, 2.0f, 1.9f};
    CHECK(s.sample(l.data(), {}) == 1);
}

TEST_CASE("temperature sampling follows the softmax distribution", "[sampler]") {
    Sampler s(3, plain(1.0f));
    std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    auto h = histogram(s, l, 20000);
    CHECK(h[0] / 20000.0 == Approx(0.5).margin(0.02));
    CHECK(h[1] / 20000.0 == Approx(0.3).margin(0.02));
    CHECK(h[2] / 20000.0 == Approx(0.2).margin(0.02));
}

TEST_CASE("the same seed gives the same tokens", "[sampler]") {
    std::vector<float> l(100);
    for (size_t i = 0; i < l.size(); ++i) l[i] = float(std::sin(double(i)));
    SamplerConfig c;  // defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05
    Sampler a(100, c), b(100, c);
    for (int i = 0; i < 50; ++i) CHECK(a.sample(l.data(), {}) == b.sample(l.data(), {}));
    c.seed = 7;
    Sampler d(100, c);
    int differ = 0;
    a.set_config(SamplerConfig{});
    for (int i = 0; i < 50; ++i) differ += a.sample(l.data(), {}) != d.sample(l.data(), {});
    CHECK(differ > 0);
}

TEST_CASE("top-k, top-p and min-p cut the tail", "[sampler]") {
    std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
    SamplerConfig c = plain(1.0f);
    c.top_k = 1;
    Sampler k1(4, c);
    CHECK(histogram(k1, l, 200).size() == 1);

    c = plain(1.0f);
    c.top_p = 0.75f;  // 0.5 + 0.3 reaches it
    Sampler p(4, c);
    auto hp = histogram(p, l, 2000);
    CHECK(hp.count(2) == 0);
    CHECK(hp.count(3) == 0);
    CHECK(hp.size() == 2);

    c = plain(1.0f);
    c.min_p = 0.25f;  // keeps p >= 0.125
    Sampler m(4, c);
    auto hm = histogram(m, l, 2000);
    CHECK(hm.count(3) == 0);
    CHECK(hm.size() == 3);
}

TEST_CASE("repetition penalty demotes recent tokens", "[sampler]") {
    SamplerConfig c = plain(0.0f);
    c.repeat_penalty = 2.0f;
    Sampler s(3, c);
    std::vector<float> l = {3.0f, 2.0f, -1.0f};
    std::vector<int32_t> history = {0, 0, 2};
    CHECK(s.sample(l.data(), history) == 1);  // 3.0 / 2 = 1.5 < 2.0
    c.repeat_penalty = 1.0f;
    s.set_config(c);
    CHECK(s.sample(l.data(), history) == 0);
}
