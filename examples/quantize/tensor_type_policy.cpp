// Tensor type choices (see tensor_type_policy.h).
#include "examples/quantize/tensor_type_policy.h"

#include "examples/quantize/quant_presets.h"
#include "lib/src/error.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// llama.cpp's LLAMA_FTYPE_* for files mostly of one type. The K-quant single types map to the
// "_M" file types, as llama-quantize's aliases Q3_K/Q4_K/Q5_K do.
struct FileTypeOf {
    GgmlType type;
    uint32_t ftype;
};
constexpr FileTypeOf kFileTypes[] = {
    {GgmlType::F32, 0},  {GgmlType::F16, 1},   {GgmlType::Q4_0, 2},  {GgmlType::Q4_1, 3},  {GgmlType::Q8_0, 7},
    {GgmlType::Q5_0, 8}, {GgmlType::Q5_1, 9},  {GgmlType::Q2_K, 10}, {GgmlType::Q3_K, 12}, {GgmlType::Q4_K, 15},
    {GgmlType::Q5_K, 17}, {GgmlType::Q6_K, 18}, {GgmlType::BF16, 32},
};

}  // namespace

bool llama_cpp_keeps_f32(std::string_view name, int n_dims) {
    if (n_dims <= 1) return true;
    if (ends_with(name, "_norm.weight")) return true;
    if (name.find(".ffn_gate_inp.") != std::string_view::npos) return true;
    return !ends_with(name, ".weight");
}

uint32_t llama_file_type_of(GgmlType t) {
    for (const FileTypeOf& f : kFileTypes)
        if (f.type == t) return f.ftype;
    return 0;
}

GgmlType row_length_fallback(GgmlType wanted, int64_t row_length) {
    if (row_length % traits_of(wanted).block_size == 0) return wanted;
    GgmlType next = GgmlType::F16;
    switch (wanted) {
        case GgmlType::Q2_K:
        case GgmlType::Q3_K: next = GgmlType::Q4_0; break;
        case GgmlType::Q4_K: next = GgmlType::Q5_0; break;
        case GgmlType::Q5_K: next = GgmlType::Q5_1; break;
        case GgmlType::Q6_K: next = GgmlType::Q8_0; break;
        default: break;
    }
    if (row_length % traits_of(next).block_size != 0) next = GgmlType::F16;
    return next;
}

TypeChoice choose_tensor_type(const TensorTypePolicy& policy, const TensorTypeRequest& r) {
    TypeChoice c;
    if (r.keep_f32) {
        c.type = c.wanted = GgmlType::F32;
        return c;
    }
    c.wanted = policy.type_for(r);
    c.type = r.n_dims > 0 ? row_length_fallback(c.wanted, r.ne[0]) : c.wanted;
    return c;
}

UniformTypePolicy::UniformTypePolicy(GgmlType type) : type_(type) {}

GgmlType UniformTypePolicy::type_for(const TensorTypeRequest&) const { return type_; }

uint32_t UniformTypePolicy::file_type() const { return llama_file_type_of(type_); }

std::string UniformTypePolicy::description() const { return traits_of(type_).name; }

std::unique_ptr<TensorTypePolicy> make_type_policy(const std::string& type_name) {
    if (auto preset = make_preset_policy(type_name)) return preset;
    GgmlType t;
    if (type_from_name(type_name, &t)) {
        for (GgmlType s : kSingleTypes)
            if (s == t) return std::make_unique<UniformTypePolicy>(t);
    }
    std::string accepted;
    for (GgmlType s : kSingleTypes) accepted += std::string(accepted.empty() ? "" : ", ") + traits_of(s).name;
    fail(MOECPU_ERR_INVALID_ARGUMENT, "--type '" + type_name + "' is not supported; single types: " + accepted +
                                          "; presets: " + preset_names());
}

}  // namespace moecpu::convert
