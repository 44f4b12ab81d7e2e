// Helpers for the quantization tests: the tiny model converted once per type into a scratch
// directory, tokens of the test text, and the mean KL divergence of a model against a base.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace moecpu::test {

// Path of tests/data/tiny-ds3 converted with `--type type` (cached for the whole run).
std::string tiny_gguf(const std::string& type);
// A scratch directory shared by the tests of this executable (removed at exit).
std::string scratch_file(const std::string& name);

// Tokens of tests/data/text/apache-2.0.txt under `model_path`'s tokenizer.
std::vector<int32_t> text_tokens(const std::string& model_path);

// Mean KL(base || model) in nats over the second half of each chunk of n_ctx tokens, for
// n_chunks chunks starting at token `first`.
double mean_kl(const std::string& base_path, const std::string& model_path, const std::vector<int32_t>& tokens,
               size_t first, int n_ctx, int n_chunks);

bool files_equal(const std::string& a, const std::string& b);

}  // namespace moecpu::test
