// Tensor type choices (see tensor_type_policy.h).
#include "examples/quantize/tensor_type_policy.h"

#include "lib/src/error.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// llama.cpp's LLAMA_FTYPE_* for the whole-file types this converter writes.
struct FileTypeOf {
    GgmlType type;
    uint32_t ftype;
};
constexpr FileTypeOf kFileTypes[] = {
    {GgmlType::F32, 0},   // LLAMA_FTYPE_ALL_F32
    {GgmlType::F16, 1},   // LLAMA_FTYPE_MOSTLY_F16
    {GgmlType::Q8_0, 7},  // LLAMA_FTYPE_MOSTLY_Q8_0
    {GgmlType::BF16, 32}, // LLAMA_FTYPE_MOSTLY_BF16
};

}  // namespace

bool llama_cpp_keeps_f32(std::string_view name, int n_dims) {
    if (n_dims <= 1) return true;
    if (ends_with(name, "_norm.weight")) return true;
    if (name.find(".ffn_gate_inp.") != std::string_view::npos) return true;
    return !ends_with(name, ".weight");
}

UniformTypePolicy::UniformTypePolicy(GgmlType type) : type_(type) {}

GgmlType UniformTypePolicy::type_for(const TensorTypeRequest& r) const {
    if (r.keep_f32) return GgmlType::F32;
    const int64_t block = traits_of(type_).block_size;
    if (r.n_dims > 0 && r.ne[0] % block != 0) return GgmlType::F16;
    return type_;
}

uint32_t UniformTypePolicy::file_type() const {
    for (const FileTypeOf& f : kFileTypes)
        if (f.type == type_) return f.ftype;
    return 0;
}

std::string UniformTypePolicy::description() const { return traits_of(type_).name; }

std::unique_ptr<TensorTypePolicy> make_type_policy(const std::string& type_name) {
    GgmlType t;
    if (type_from_name(type_name, &t)) {
        for (const FileTypeOf& f : kFileTypes)
            if (f.type == t) return std::make_unique<UniformTypePolicy>(t);
    }
    fail(MOECPU_ERR_INVALID_ARGUMENT, "--type '" + type_name + "' is not supported here (f32, f16, bf16, q8_0)");
}

}  // namespace moecpu::convert
