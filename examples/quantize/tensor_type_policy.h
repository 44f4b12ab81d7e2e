// Which GGUF type each tensor is stored in. The converter asks a policy per tensor, so presets
// and per-tensor rules (low-bit K-quants, "attention in Q8_0, experts in Q4_K", imatrix-driven
// choices) plug in as further TensorTypePolicy implementations without touching the converter.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "quant/ggml_types.h"

namespace moecpu::convert {

// What a policy knows about a tensor when choosing its type.
struct TensorTypeRequest {
    std::string_view name;  // GGUF name, e.g. "blk.3.ffn_up_exps.weight"
    int n_dims = 0;
    const int64_t* ne = nullptr;  // GGUF order, ne[0] = row length
    bool keep_f32 = false;        // llama.cpp stores this tensor as F32 whatever the file type
};

class TensorTypePolicy {
public:
    virtual ~TensorTypePolicy() = default;
    virtual GgmlType type_for(const TensorTypeRequest& request) const = 0;
    // general.file_type (llama.cpp's LLAMA_FTYPE_* number).
    virtual uint32_t file_type() const = 0;
    virtual std::string description() const = 0;
};

// llama.cpp's converter rule: 1-D tensors, norms, the router (`ffn_gate_inp`) and anything not
// named `*.weight` (e.g. `exp_probs_b.bias`) stay F32.
bool llama_cpp_keeps_f32(std::string_view gguf_name, int n_dims);

// Every tensor in one type (f32, f16, bf16, q8_0), except those llama.cpp keeps in F32; a row
// that is not a whole number of quantization blocks falls back to F16, as llama.cpp does.
class UniformTypePolicy : public TensorTypePolicy {
public:
    explicit UniformTypePolicy(GgmlType type);
    GgmlType type_for(const TensorTypeRequest& request) const override;
    uint32_t file_type() const override;
    std::string description() const override;

private:
    GgmlType type_;
};

// "f32" | "f16" | "bf16" | "q8_0" (case-insensitive); throws Error(INVALID_ARGUMENT) otherwise.
std::unique_ptr<TensorTypePolicy> make_type_policy(const std::string& type_name);

}  // namespace moecpu::convert
