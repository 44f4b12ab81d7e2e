// Tiny DeepSeek-V3 fixtures converted to GGUF once per test process, plus reference data.
#pragma once
#include <string>
#include <vector>

#include "moecpu.h"

namespace moecpu::test {

// Path of tests/data/<model> converted to GGUF with `type` (f32, bf16, q8_0 …); converted on
// first use into a per-process temporary directory that is removed at exit.
std::string converted_fixture(const std::string& model, const std::string& type);

// Reference logits [n_tokens][n_vocab] of sequence `index` of tests/data/<model>/reference.
std::vector<float> reference_logits(const std::string& model, int index, size_t* n_tokens, size_t* n_vocab);

struct ReferenceSequence {
    std::string name, text;
    std::vector<int32_t> tokens;
};
std::vector<ReferenceSequence> reference_sequences(const std::string& model);

struct GreedyReference {
    std::vector<int32_t> prompt, generated;
    std::string generated_text;
};
GreedyReference greedy_reference(const std::string& model);

size_t argmax(const float* x, size_t n);
// KL(P_ref || P_got) of the softmax distributions of two logit rows, in nats.
double kl_divergence(const float* ref, const float* got, size_t n);

// A model file's predictions on all of tiny-ds3's reference sequences against the reference logits.
struct ReferenceQuality {
    double kl_mean = 0, kl_max = 0;
    size_t agree = 0, total = 0, non_finite = 0;  // top-1 agreements, positions, non-finite logits
};
ReferenceQuality quality_against_reference(const std::string& model_path);

// RAII wrappers for the C API handles.
struct Model {
    moecpu_model* m = nullptr;
    explicit Model(const std::string& path, bool mmap = true);
    ~Model() { moecpu_model_free(m); }
};
struct Context {
    moecpu_context* c = nullptr;
    Context(moecpu_model* m, int n_ctx, int n_batch, bool logits_all, int threads = 2);
    ~Context() { moecpu_context_free(c); }
};

}  // namespace moecpu::test
