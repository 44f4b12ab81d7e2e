// The forward pass against logits computed by DeepSeek's own reference code (inference/model.py,
// float32) on the tiny fixtures. Measured: F32 max abs diff ~1e-5 (see the INFO lines).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "tests/model/model_fixtures.h"

using namespace moecpu::test;

namespace {

struct Diff {
    double max_abs = 0;
    size_t argmax_mismatch = 0;
};

void accumulate(Diff& d, const float* got, const float* want, size_t n) {
    for (size_t j = 0; j < n; ++j) d.max_abs = std::max(d.max_abs, double(std::fabs(got[j] - want[j])));
    d.argmax_mismatch += argmax(got, n) != argmax(want, n);
}

// Evaluates `tokens` in batches of `batch` tokens with every row's logits kept.
Diff compare_sequence(moecpu_model* m, const std::vector<int32_t>& tokens, const std::vector<float>& ref, size_t n_vocab,
                      int batch) {
    Context ctx(m, 256, batch, true);
    Diff d;
    for (size_t done = 0; done < tokens.size();) {
        const size_t n = std::min(tokens.size() - done, size_t(batch));
        REQUIRE(moecpu_eval(ctx.c, tokens.data() + done, n) == MOECPU_OK);
        for (size_t i = 0; i < n; ++i) {
            const float* got = moecpu_get_logits(ctx.c, int32_t(i));
            REQUIRE(got != nullptr);
            accumulate(d, got, &ref[(done + i) * n_vocab], n_vocab);
        }
        done += n;
    }
    return d;
}

void check_against_reference(const std::string& model, const std::string& type, double tolerance,
                             std::initializer_list<int> batches) {
    Model m(converted_fixture(model, type));
    REQUIRE(size_t(moecpu_model_n_vocab(m.m)) == 1024);
    const auto seqs = reference_sequences(model);
    for (int s = 0; s < int(seqs.size()); ++s) {
        size_t n_tokens = 0, n_vocab = 0;
        const auto ref = reference_logits(model, s, &n_tokens, &n_vocab);
        REQUIRE(n_tokens == seqs[size_t(s)].tokens.size());
        for (int batch : batches) {
            const Diff d = compare_sequence(m.m, seqs[size_t(s)].tokens, ref, n_vocab, batch);
            INFO(model << " " << type << " seq " << s << " batch " << batch << ": max abs logit diff " << d.max_abs);
            CHECK(d.max_abs <= tolerance);
            CHECK(d.argmax_mismatch == 0);
        }
    }
}

}  // namespace

TEST_CASE("F32 GGUF reproduces DeepSeek's reference logits", "[model]") {
    check_against_reference("tiny-ds3", "f32", 1e-4, {1, 2, 7, 64, 130});
}

TEST_CASE("BF16 GGUF (the checkpoint's own precision) reproduces the reference logits", "[model]") {
    check_against_reference("tiny-ds3", "bf16", 1e-4, {1, 64});
}

TEST_CASE("FP8 checkpoint converts and matches its own reference logits", "[model]") {
    check_against_reference("tiny-ds3-fp8", "f32", 1e-4, {1, 64});
}

TEST_CASE("greedy continuation equals the reference exactly", "[model]") {
    for (const char* model : {"tiny-ds3", "tiny-ds3-fp8"}) {
        Model m(converted_fixture(model, "f32"));
        Context ctx(m.m, 128, 64, false);
        const GreedyReference g = greedy_reference(model);
        moecpu_sampler_params sp = moecpu_sampler_default_params();
        sp.temperature = 0.0f;
        std::vector<int32_t> got;
        std::string text;
        struct Sink { std::vector<int32_t>* ids; std::string* text; } sink{&got, &text};
        int32_t n_gen = 0;
        const moecpu_status st = moecpu_generate(
            ctx.c, g.prompt.data(), g.prompt.size(), int32_t(g.generated.size()), sp,
            [](moecpu_token t, const char* piece, size_t len, void* ud) -> int32_t {
                auto* s = static_cast<Sink*>(ud);
                s->ids->push_back(t);
                s->text->append(piece, len);
                return 0;
            },
            &sink, &n_gen);
        INFO(model << ": " << moecpu_last_error());
        REQUIRE(st == MOECPU_OK);
        CHECK(got == g.generated);
        CHECK(text == g.generated_text);
    }
}

TEST_CASE("the model's tokenizer gives the reference ids", "[model]") {
    Model m(converted_fixture("tiny-ds3", "f32"));
    for (const auto& seq : reference_sequences("tiny-ds3")) {
        std::vector<int32_t> ids(512);
        size_t n = 0;
        REQUIRE(moecpu_tokenize(m.m, seq.text.data(), seq.text.size(), 1, 0, ids.data(), ids.size(), &n) == MOECPU_OK);
        ids.resize(n);
        CHECK(ids == seq.tokens);
    }
}

TEST_CASE("mmap and read-into-memory loads give identical logits", "[model]") {
    const std::string path = converted_fixture("tiny-ds3", "q8_0");
    const auto seq = reference_sequences("tiny-ds3")[0];
    std::vector<float> a, b;
    for (bool mmap : {true, false}) {
        Model m(path, mmap);
        Context ctx(m.m, 64, 64, false);
        INFO("mmap " << mmap);
        REQUIRE(moecpu_eval(ctx.c, seq.tokens.data(), seq.tokens.size()) == MOECPU_OK);
        const float* l = moecpu_get_logits(ctx.c, -1);
        REQUIRE(l != nullptr);
        (mmap ? a : b).assign(l, l + 1024);
    }
    CHECK(a == b);
}

// Quantized weights (and 8-bit activations) are judged by KL divergence and top-1 agreement:
// routing margins in the fixture are as small as 4e-5, so a few positions may pick another expert.
TEST_CASE("Q8_0 GGUF stays close to the reference", "[model]") {
    const ReferenceQuality q = quality_against_reference(converted_fixture("tiny-ds3", "q8_0"));
    INFO("q8_0: mean KL " << q.kl_mean << ", max KL " << q.kl_max << ", top-1 agreement " << q.agree << "/" << q.total);
    CHECK(q.kl_mean < 0.005);
    CHECK(double(q.agree) / double(q.total) >= 0.95);
}

TEST_CASE("bad calls return errors, not crashes", "[model]") {
    moecpu_model* m = nullptr;
    CHECK(moecpu_model_load("/nonexistent/file.gguf", moecpu_model_default_params(), &m) != MOECPU_OK);
    CHECK(std::string(moecpu_last_error()).find("/nonexistent/file.gguf") != std::string::npos);
    CHECK(m == nullptr);
    Model model(converted_fixture("tiny-ds3", "f32"));
    Context ctx(model.m, 8, 4, false);
    const int32_t bad = 5000;
    CHECK(moecpu_eval(ctx.c, &bad, 1) == MOECPU_ERR_INVALID_ARGUMENT);
    std::vector<int32_t> many(9, 5);
    CHECK(moecpu_eval(ctx.c, many.data(), many.size()) == MOECPU_ERR_CONTEXT_FULL);
}
