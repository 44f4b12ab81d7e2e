// What a DeepSeek-V2/V3 checkpoint becomes in GGUF (architecture `deepseek2`), as current
// llama.cpp's convert_hf_to_gguf.py writes it: the `general.*` and `deepseek2.*` keys, and for
// every GGUF tensor its name, shape (ggml order, ne[0] = row length), type and the Hugging Face
// tensors it is made from. Planning reads only safetensors headers; it checks every source tensor
// exists with the shape config.json implies and that nothing in the checkpoint goes unused, so a
// bad checkpoint fails before the output file is created.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lib/src/gguf.h"
#include "quant/ggml_types.h"

namespace moecpu::convert {

class HfCheckpoint;
class TensorTypePolicy;
struct Deepseek2HParams;

enum class TensorSource {
    Copy,          // one HF tensor, same row-major data
    MergeExperts,  // hf_names[e] is expert e's [rows, cols]; GGUF [cols, rows, n_expert]
    KvBToKB,       // kv_b_proj [H*(nope+v), kv_lora]: per head the nope rows, transposed -> [nope, kv_lora, H]
    KvBToVB,       // kv_b_proj: per head the v rows -> [kv_lora, v, H]
};

struct PlannedTensor {
    std::string name;  // GGUF name
    int n_dims = 0;
    int64_t ne[4] = {1, 1, 1, 1};
    TensorSource source = TensorSource::Copy;
    std::vector<std::string> hf_names;
    bool keep_f32 = false;
    GgmlType type = GgmlType::F32;
    GgmlType wanted_type = GgmlType::F32;  // the policy's choice before the row-length fallback
    // KvBToKB / KvBToVB geometry.
    int64_t n_head = 0, nope = 0, v_dim = 0;

    int64_t row_length() const { return ne[0]; }
    int64_t row_count() const { return ne[1] * ne[2] * ne[3]; }
    int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

struct GgufPlan {
    std::vector<gguf::KeyValue> kvs;
    std::vector<PlannedTensor> tensors;
    std::vector<std::string> notes;  // human-readable remarks (skipped MTP tensors, ...)
};

constexpr const char* kArchDeepseek2 = "deepseek2";

// Keys (general.* and deepseek2.*) and tensors for `ckpt`; tensor types from `policy`.
GgufPlan plan_deepseek2(const HfCheckpoint& ckpt, const Deepseek2HParams& hp, const TensorTypePolicy& policy,
                        const std::string& model_name);

// gguf-py's size label ("16x1.2M", "671B"): counts as its get_total_parameter_count does.
std::string size_label(const std::vector<PlannedTensor>& tensors);

}  // namespace moecpu::convert
