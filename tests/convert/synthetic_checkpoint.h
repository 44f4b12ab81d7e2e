// A small DeepSeek-V2-Lite-style Hugging Face checkpoint written by the tests: no q-LoRA (q_proj),
// softmax routing, greedy top-k, no router bias, 2 shared experts, yarn RoPE with mscale 0.707,
// one MTP layer (to be skipped), weights in F16 (1-D tensors F32), in two shards with an index.
// Values are exact in F16, so a conversion to F32 must reproduce them bit for bit.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace moecpu::test {

struct SyntheticV2 {
    // Dimensions.
    static constexpr int64_t kHidden = 64, kInter = 96, kMoeInter = 32, kLayers = 2, kHeads = 2;
    static constexpr int64_t kKvLora = 32, kNope = 16, kRope = 8, kV = 16, kExperts = 4, kShared = 2;
    static constexpr int64_t kVocab = 1024;  // the tiny-ds3 tokenizer is reused

    // Value stored at flat index i of tensor `name`.
    static float value(const std::string& name, int64_t i);
    static nlohmann::json config();
};

// Writes the checkpoint into `dir`, with `config` as its config.json (tests may edit it).
void write_synthetic_v2(const std::string& dir, const nlohmann::json& config);

}  // namespace moecpu::test
