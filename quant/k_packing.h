// Packing of the K-quant sub-block scales (ggml's layouts; internal to quant/ and the kernels).
#pragma once
#include <cstdint>

namespace moecpu {

// Q4_K / Q5_K: 8 six-bit scales and 8 six-bit mins in 12 bytes.
//   j < 4:  scale = q[j] & 63,                          min = q[j + 4] & 63
//   j >= 4: scale = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4,
//           min   = (q[j + 4] >> 4) | (q[j]     >> 6) << 4
// i.e. bytes 0..3 hold scales 0..3 (+ the top two bits of scales 4..7), bytes 4..7 mins 0..3
// (+ top bits of mins 4..7), bytes 8..11 the low nibbles of scale / min 4..7.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Inverse of get_scale_min_k4 for all 8 sub-blocks; ls, lm must be <= 63.
inline void pack_scale_min_k4(const uint8_t ls[8], const uint8_t lm[8], uint8_t q[12]) {
    for (int j = 0; j < 4; ++j) {
        q[j] = uint8_t((ls[j] & 63) | ((ls[j + 4] >> 4) << 6));
        q[j + 4] = uint8_t((lm[j] & 63) | ((lm[j + 4] >> 4) << 6));
        q[j + 8] = uint8_t((ls[j + 4] & 0xF) | ((lm[j + 4] & 0xF) << 4));
    }
}

// Q3_K: 16 six-bit scales stored with offset 32 (value = stored - 32, in [-32, 31]).
// Low nibbles: scale j < 8 in the low nibble of byte j, scale j >= 8 in the high nibble of byte
// j - 8. High two bits: bits 2*(j/4) .. 2*(j/4)+1 of byte 8 + j%4.
inline int q3k_get_scale(int j, const uint8_t* q) {
    const int lo = j < 8 ? (q[j] & 0xF) : (q[j - 8] >> 4);
    const int hi = (q[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

// Inverse of q3k_get_scale for all 16 scales; each l in [0, 63] (= signed scale + 32).
inline void q3k_pack_scales(const uint8_t l[16], uint8_t q[12]) {
    for (int k = 0; k < 12; ++k) q[k] = 0;
    for (int j = 0; j < 16; ++j) {
        if (j < 8) q[j] = uint8_t(q[j] | (l[j] & 0xF));
        else q[j - 8] = uint8_t(q[j - 8] | ((l[j] & 0xF) << 4));
        q[8 + j % 4] = uint8_t(q[8 + j % 4] | (((l[j] >> 4) & 3) << (2 * (j / 4))));
    }
}

}  // namespace moecpu
