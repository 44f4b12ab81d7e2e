// The thread count changes who computes an output, never how: every output element is summed by
// one thread in the same order, whether its operation ran on a team of 2 or (below the fork
// threshold, cpu-kernels/fork_threshold.h) on the calling thread. So a prompt and the decode
// steps after it give bit-identical logits at 1 and 2 threads.
#include <catch2/catch.hpp>

#include <vector>

#include "tests/model/model_fixtures.h"

using namespace moecpu::test;

namespace {

constexpr int kPrompt = 140;  // from 128 tokens f32 weights go to oneDNN's sgemm
constexpr int kDecode = 24;

// Logits of every prompt row, then of each decode step, fed one token at a time.
std::vector<float> run(moecpu_model* m, int threads) {
    const int n_vocab = moecpu_model_n_vocab(m);
    Context ctx(m, 256, kPrompt, true, threads);
    std::vector<int32_t> tokens(kPrompt + kDecode);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 37 + 11) % size_t(n_vocab));
    std::vector<float> logits;
    auto keep = [&](int rows) {
        for (int i = 0; i < rows; ++i) {
            const float* row = moecpu_get_logits(ctx.c, i);
            REQUIRE(row != nullptr);
            logits.insert(logits.end(), row, row + n_vocab);
        }
    };
    REQUIRE(moecpu_eval(ctx.c, tokens.data(), kPrompt) == MOECPU_OK);
    keep(kPrompt);
    for (int s = 0; s < kDecode; ++s) {
        REQUIRE(moecpu_eval(ctx.c, &tokens[size_t(kPrompt + s)], 1) == MOECPU_OK);
        keep(1);
    }
    return logits;
}

void check_type(const std::string& type) {
    Model m(converted_fixture("tiny-ds3", type));
    const std::vector<float> one = run(m.m, 1), two = run(m.m, 2);
    REQUIRE(one.size() == two.size());
    size_t differing = 0;
    for (size_t i = 0; i < one.size(); ++i) differing += one[i] != two[i];
    INFO(type << ": " << differing << " of " << one.size() << " logits differ between 1 and 2 threads");
    CHECK(differing == 0);
}

}  // namespace

TEST_CASE("prompt and decode logits are identical at 1 and 2 threads", "[model][threads]") {
    check_type("MOE_Q2_K");  // the K-quant kernels with their activation quantization, MoE in 3 layers
    check_type("f32");       // f32 kernels, and oneDNN for the prompt's linears
}
