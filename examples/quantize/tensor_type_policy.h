// Which GGUF type each tensor is stored in. The converter and the requantizer ask a policy per
// tensor, so single types, llama.cpp-style presets, MoE-aware presets and `--tensor-type`
// overrides are all TensorTypePolicy implementations (quant_presets.h, type_overrides.h).
//
// A policy answers the type it *wants*; choose_tensor_type() then applies the rules every policy
// shares: tensors llama.cpp keeps in F32 stay F32, and a row that is not a whole number of the
// wanted format's blocks falls back to a compatible type (as llama.cpp's quantizer does).
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
    int64_t n_layer = 0;          // block count of the model (layer-dependent preset rules)
};

class TensorTypePolicy {
public:
    virtual ~TensorTypePolicy() = default;
    // The wanted type of a tensor that is not kept in F32 (before the row-length fallback).
    virtual GgmlType type_for(const TensorTypeRequest& request) const = 0;
    // general.file_type (llama.cpp's LLAMA_FTYPE_* number).
    virtual uint32_t file_type() const = 0;
    virtual std::string description() const = 0;
};

// llama.cpp's converter rule: 1-D tensors, norms, the router (`ffn_gate_inp`) and anything not
// named `*.weight` (e.g. `exp_probs_b.bias`) stay F32.
bool llama_cpp_keeps_f32(std::string_view gguf_name, int n_dims);

// llama.cpp's fallback for a row of `row_length` elements that `wanted` cannot hold (256-element
// K-quant super-blocks on a 128-wide row): Q2_K/Q3_K -> IQ4_NL in llama.cpp, which moecpu does not
// encode, so Q4_0 (same 4.5 bits per weight); Q4_K -> Q5_0; Q5_K -> Q5_1; Q6_K -> Q8_0; and F16
// when even a 32-element block does not fit. Returns `wanted` when it fits.
GgmlType row_length_fallback(GgmlType wanted, int64_t row_length);

struct TypeChoice {
    GgmlType type = GgmlType::F32;    // what the tensor is stored in
    GgmlType wanted = GgmlType::F32;  // what the policy asked for (differs after a fallback)
    bool fell_back() const { return type != wanted; }
};

TypeChoice choose_tensor_type(const TensorTypePolicy& policy, const TensorTypeRequest& request);

// Every tensor in one type (f32, f16, bf16, q8_0, q4_0 ... q6_k), except those llama.cpp keeps
// in F32 — llama.cpp's `--pure`.
class UniformTypePolicy : public TensorTypePolicy {
public:
    explicit UniformTypePolicy(GgmlType type);
    GgmlType type_for(const TensorTypeRequest& request) const override;
    uint32_t file_type() const override;
    std::string description() const override;

private:
    GgmlType type_;
};

// The single types --type accepts, in the order the help lists them.
constexpr GgmlType kSingleTypes[] = {
    GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
    GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
};

// A single type ("f32", "q4_k", case-insensitive) or a preset name ("Q4_K_M", "MOE_Q2_K", see
// quant_presets.h); throws Error(INVALID_ARGUMENT) listing the accepted names otherwise.
std::unique_ptr<TensorTypePolicy> make_type_policy(const std::string& type_name);

// LLAMA_FTYPE_* for a file whose tensors are mostly `t` (0 when llama.cpp has none).
uint32_t llama_file_type_of(GgmlType t);

}  // namespace moecpu::convert
