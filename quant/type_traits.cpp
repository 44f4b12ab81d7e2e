// The type table. Block sizes and bytes per block are ggml's, so byte sizes of tensors in any
// GGUF file (IQ types included) can be computed even where moecpu cannot yet dequantize them.
#include "quant/type_traits.h"

#include <array>
#include <cctype>

#include "quant/block_formats.h"
#include "quant/quantize_ref.h"

namespace moecpu {
namespace {

using T = GgmlType;

constexpr size_t kCount = static_cast<size_t>(GgmlType::COUNT);

struct Table {
    std::array<TypeTraits, kCount> entries{};
    std::array<bool, kCount> valid{};

    TypeTraits& add(T t, const char* name, int64_t block_size, size_t type_size, bool quantized) {
        const auto i = static_cast<size_t>(t);
        valid[i] = true;
        TypeTraits& e = entries[i];
        e.name = name;
        e.block_size = block_size;
        e.type_size = type_size;
        e.is_quantized = quantized;
        return e;
    }
};

Table build_table() {
    Table tb;
    tb.add(T::F32, "f32", 1, 4, false);
    tb.add(T::F16, "f16", 1, 2, false);
    tb.add(T::BF16, "bf16", 1, 2, false);
    tb.add(T::F64, "f64", 1, 8, false);
    tb.add(T::I8, "i8", 1, 1, false);
    tb.add(T::I16, "i16", 1, 2, false);
    tb.add(T::I32, "i32", 1, 4, false);
    tb.add(T::I64, "i64", 1, 8, false);
    tb.add(T::Q4_0, "q4_0", QK4_0, sizeof(block_q4_0), true);
    tb.add(T::Q4_1, "q4_1", QK4_1, sizeof(block_q4_1), true);
    tb.add(T::Q5_0, "q5_0", QK5_0, sizeof(block_q5_0), true);
    tb.add(T::Q5_1, "q5_1", QK5_1, sizeof(block_q5_1), true);
    tb.add(T::Q8_0, "q8_0", QK8_0, sizeof(block_q8_0), true);
    tb.add(T::Q8_1, "q8_1", QK8_1, sizeof(block_q8_1), true);
    tb.add(T::Q2_K, "q2_K", QK_K, sizeof(block_q2_K), true);
    tb.add(T::Q3_K, "q3_K", QK_K, sizeof(block_q3_K), true);
    tb.add(T::Q4_K, "q4_K", QK_K, sizeof(block_q4_K), true);
    tb.add(T::Q5_K, "q5_K", QK_K, sizeof(block_q5_K), true);
    tb.add(T::Q6_K, "q6_K", QK_K, sizeof(block_q6_K), true);
    tb.add(T::Q8_K, "q8_K", QK_K, sizeof(block_q8_K), true);
    // Formats moecpu does not decode yet: sizes only (ggml's block structs).
    tb.add(T::IQ2_XXS, "iq2_xxs", QK_K, 66, true);
    tb.add(T::IQ2_XS, "iq2_xs", QK_K, 74, true);
    tb.add(T::IQ3_XXS, "iq3_xxs", QK_K, 98, true);
    tb.add(T::IQ1_S, "iq1_s", QK_K, 50, true);
    tb.add(T::IQ4_NL, "iq4_nl", 32, 18, true);
    tb.add(T::IQ3_S, "iq3_s", QK_K, 110, true);
    tb.add(T::IQ2_S, "iq2_s", QK_K, 82, true);
    tb.add(T::IQ4_XS, "iq4_xs", QK_K, 136, true);
    tb.add(T::IQ1_M, "iq1_m", QK_K, 56, true);
    tb.add(T::TQ1_0, "tq1_0", QK_K, 54, true);
    tb.add(T::TQ2_0, "tq2_0", QK_K, 66, true);
    tb.add(T::MXFP4, "mxfp4", 32, 17, true);

    // Conversion functions (quant/quantize_ref.h) and the activation format each type's dot
    // products take (ggml-cpu's vec_dot_type): Q8_0 for the symmetric 32-blocks, Q8_1 (which
    // carries d * sum(q) for the min term) for Q4_1 / Q5_1, Q8_K for the K-quants.
    auto fns = [&](T t, ToFloatFn to_float, FromFloatFn from_float, QuantizeFn quantize, T vec_dot) {
        TypeTraits& e = tb.entries[static_cast<size_t>(t)];
        e.supported = true;
        e.to_float = to_float;
        e.from_float_ref = from_float;
        e.quantize = quantize;
        e.vec_dot_type = vec_dot;
    };
    fns(T::F32, dequantize_row_f32, quantize_row_f32_ref, quantize_f32, T::F32);
    fns(T::F16, dequantize_row_f16, quantize_row_f16_ref, quantize_f16, T::F16);
    fns(T::BF16, dequantize_row_bf16, quantize_row_bf16_ref, quantize_bf16, T::BF16);
    fns(T::Q4_0, dequantize_row_q4_0, quantize_row_q4_0_ref, quantize_q4_0, T::Q8_0);
    fns(T::Q4_1, dequantize_row_q4_1, quantize_row_q4_1_ref, quantize_q4_1, T::Q8_1);
    fns(T::Q5_0, dequantize_row_q5_0, quantize_row_q5_0_ref, quantize_q5_0, T::Q8_0);
    fns(T::Q5_1, dequantize_row_q5_1, quantize_row_q5_1_ref, quantize_q5_1, T::Q8_1);
    fns(T::Q8_0, dequantize_row_q8_0, quantize_row_q8_0_ref, quantize_q8_0, T::Q8_0);
    fns(T::Q8_1, dequantize_row_q8_1, quantize_row_q8_1_ref, quantize_q8_1, T::Q8_1);
    fns(T::Q2_K, dequantize_row_q2_K, quantize_row_q2_K_ref, quantize_q2_K, T::Q8_K);
    fns(T::Q3_K, dequantize_row_q3_K, quantize_row_q3_K_ref, quantize_q3_K, T::Q8_K);
    fns(T::Q4_K, dequantize_row_q4_K, quantize_row_q4_K_ref, quantize_q4_K, T::Q8_K);
    fns(T::Q5_K, dequantize_row_q5_K, quantize_row_q5_K_ref, quantize_q5_K, T::Q8_K);
    fns(T::Q6_K, dequantize_row_q6_K, quantize_row_q6_K_ref, quantize_q6_K, T::Q8_K);
    fns(T::Q8_K, dequantize_row_q8_K, quantize_row_q8_K_ref, quantize_q8_K, T::Q8_K);
    return tb;
}

const Table& table() {
    static const Table tb = build_table();
    return tb;
}

}  // namespace

const TypeTraits* type_traits(uint32_t type_id) {
    if (type_id >= kCount || !table().valid[type_id]) return nullptr;
    return &table().entries[type_id];
}

const TypeTraits& traits_of(GgmlType t) { return table().entries[static_cast<size_t>(t)]; }

bool type_from_name(std::string_view name, GgmlType* out) {
    for (size_t i = 0; i < kCount; ++i) {
        if (!table().valid[i]) continue;
        const std::string_view n = table().entries[i].name;
        if (n.size() != name.size()) continue;
        bool same = true;
        for (size_t j = 0; j < n.size() && same; ++j)
            same = std::tolower(static_cast<unsigned char>(n[j])) == std::tolower(static_cast<unsigned char>(name[j]));
        if (same) {
            *out = static_cast<GgmlType>(i);
            return true;
        }
    }
    return false;
}

size_t row_size(GgmlType t, int64_t n) {
    const TypeTraits& tr = traits_of(t);
    return static_cast<size_t>(n / tr.block_size) * tr.type_size;
}

}  // namespace moecpu
