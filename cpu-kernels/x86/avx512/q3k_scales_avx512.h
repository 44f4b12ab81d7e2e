// Q3_K's packed sub-block scales → signed int16, shared by the per-row and the 16-row Q3_K paths.
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu-kernels/x86/avx512/avx512_tile_common.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// Q3_K's sixteen 6-bit scales: scale i takes its low 4 bits from byte i % 8 (low nibble for
// i < 8, high nibble after) and its high 2 bits from byte 8 + i % 4, bit pair i / 4. Stored with
// an offset of 32. Four scales are assembled per 32-bit word.
MOECPU_AVX512_INLINE __m256i q3_K_signed_scales(const uint8_t packed[12]) {
    uint32_t low[2], high;
    std::memcpy(low, packed, 8);
    std::memcpy(&high, packed + 8, 4);
    const uint32_t nibbles = 0x0F0F0F0Fu, pairs = 0x03030303u;
    const __m128i scales = _mm_set_epi32(static_cast<int>(((low[1] >> 4) & nibbles) | (((high >> 6) & pairs) << 4)),
                                         static_cast<int>(((low[0] >> 4) & nibbles) | (((high >> 4) & pairs) << 4)),
                                         static_cast<int>((low[1] & nibbles) | (((high >> 2) & pairs) << 4)),
                                         static_cast<int>((low[0] & nibbles) | ((high & pairs) << 4)));
    return _mm256_cvtepi8_epi16(_mm_sub_epi8(scales, _mm_set1_epi8(32)));
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
