// Matmul tiles for float weights (F32, F16, BF16) against f32 activations: each group of eight
// weights is loaded and widened once, then multiplied into up to four activation columns.
#include "cpu-kernels/arm/neon/neon_kernels.h"

namespace moecpu::kernels::MOECPU_NEON_NS {
namespace {

constexpr int kMaxCols = 4;

struct F32Weights {
    using Elem = float;
    static void load8(const float* p, float32x4_t* lo, float32x4_t* hi) {
        *lo = vld1q_f32(p);
        *hi = vld1q_f32(p + 4);
    }
    static float scalar(const float* p) { return *p; }
};

struct F16Weights {
    using Elem = uint16_t;
    static void load8(const uint16_t* p, float32x4_t* lo, float32x4_t* hi) {
        const uint16x8_t h = vld1q_u16(p);
        *lo = halves_to_floats(vget_low_u16(h));
        *hi = halves_to_floats(vget_high_u16(h));
    }
    static float scalar(const uint16_t* p) { return half_to_float(*p); }
};

struct BF16Weights {
    using Elem = uint16_t;
    // bf16 is the top half of an f32: widen with a 16-bit left shift.
    static void load8(const uint16_t* p, float32x4_t* lo, float32x4_t* hi) {
        const uint16x8_t h = vld1q_u16(p);
        *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        *hi = vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(h), 16));
    }
    static float scalar(const uint16_t* p) { return bf16_to_float(*p); }
};

// One weight row against C activation columns.
template <class W, int C>
void row_times_columns(int64_t k, const typename W::Elem* wrow, const float* const* act, float* out,
                       size_t out_stride) {
    float32x4_t acc_lo[C], acc_hi[C];
    for (int c = 0; c < C; ++c) acc_lo[c] = acc_hi[c] = vdupq_n_f32(0.f);
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        float32x4_t w_lo, w_hi;
        W::load8(wrow + i, &w_lo, &w_hi);
        for (int c = 0; c < C; ++c) {
            acc_lo[c] = vfmaq_f32(acc_lo[c], w_lo, vld1q_f32(act[c] + i));
            acc_hi[c] = vfmaq_f32(acc_hi[c], w_hi, vld1q_f32(act[c] + i + 4));
        }
    }
    for (int c = 0; c < C; ++c) {
        float sum = vaddvq_f32(vaddq_f32(acc_lo[c], acc_hi[c]));
        for (int64_t j = i; j < k; ++j) sum += W::scalar(wrow + j) * act[c][j];
        out[c * out_stride] = sum;
    }
}

template <class W, int C>
void rows_times_columns(int64_t k, const uint8_t* w, size_t w_row_bytes, int nr, const uint8_t* a,
                        size_t a_row_bytes, float* out, size_t out_stride) {
    const float* act[C];
    for (int c = 0; c < C; ++c) act[c] = reinterpret_cast<const float*>(a + c * a_row_bytes);
    for (int r = 0; r < nr; ++r)
        row_times_columns<W, C>(k, reinterpret_cast<const typename W::Elem*>(w + r * w_row_bytes), act,
                                out + r, out_stride);
}

template <class W>
void mat_tile(MOECPU_NEON_TILE_PARAMS) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(a);
    int c = 0;
    for (; c + kMaxCols <= nc; c += kMaxCols)
        rows_times_columns<W, kMaxCols>(k, wb, w_row_bytes, nr, ab + c * a_row_bytes, a_row_bytes,
                                        out + c * out_stride, out_stride);
    float* out_tail = out + c * out_stride;
    const uint8_t* a_tail = ab + c * a_row_bytes;
    switch (nc - c) {
        case 3: rows_times_columns<W, 3>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        case 2: rows_times_columns<W, 2>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        case 1: rows_times_columns<W, 1>(k, wb, w_row_bytes, nr, a_tail, a_row_bytes, out_tail, out_stride); break;
        default: break;
    }
}

}  // namespace

void tile_f32(MOECPU_NEON_TILE_PARAMS) {
    mat_tile<F32Weights>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}
void tile_f16(MOECPU_NEON_TILE_PARAMS) {
    mat_tile<F16Weights>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}
void tile_bf16(MOECPU_NEON_TILE_PARAMS) {
    mat_tile<BF16Weights>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

}  // namespace moecpu::kernels::MOECPU_NEON_NS
