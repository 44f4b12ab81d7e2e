// One table describing every tensor type moecpu knows, indexed by the GGUF type id
// (the ggml `type_traits[]` convention): no switch on types anywhere else.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "quant/ggml_types.h"

namespace moecpu {

// Reference dequantize of n elements (n a multiple of block_size).
using ToFloatFn = void (*)(const void* src, float* dst, int64_t n);
// Reference quantize of n elements (n a multiple of block_size), no importance weights.
using FromFloatFn = void (*)(const float* src, void* dst, int64_t n);
// Quantize nrows rows of n_per_row; `importance` (may be null) holds one weight per column,
// as an imatrix does. Returns bytes written.
using QuantizeFn = size_t (*)(const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                              const float* importance);

struct TypeTraits {
    const char* name = nullptr;  // ggml's spelling, e.g. "q4_K", "bf16"
    int64_t block_size = 0;      // elements per block (1 for plain types)
    size_t type_size = 0;        // bytes per block
    bool is_quantized = false;
    bool supported = false;      // moecpu can dequantize it
    GgmlType vec_dot_type = GgmlType::F32;  // activation format its dot products take
    ToFloatFn to_float = nullptr;
    FromFloatFn from_float_ref = nullptr;
    QuantizeFn quantize = nullptr;
};

// Null for ids that are not (or no longer) ggml types.
const TypeTraits* type_traits(uint32_t type_id);
inline const TypeTraits* type_traits(GgmlType t) { return type_traits(static_cast<uint32_t>(t)); }
const TypeTraits& traits_of(GgmlType t);  // for ids known to be valid

// Case-insensitive lookup by name ("q4_k", "Q4_K", "bf16"); false if unknown.
bool type_from_name(std::string_view name, GgmlType* out);

// Bytes of one row of n elements; n must be a multiple of the block size.
size_t row_size(GgmlType t, int64_t n);

}  // namespace moecpu
