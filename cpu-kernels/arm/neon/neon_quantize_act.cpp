// f32 activation rows → Q8_0 / Q8_1 / Q8_K blocks, bit-exact with quant/'s reference quantizers
// (same float operations in the same order; only the loops are vectorized).
#include "cpu-kernels/arm/neon/neon_kernels.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_NEON_NS {
namespace {

// Narrows 16 int32 (each within int8 range) to 16 int8 and stores them.
void store_16_as_s8(int8_t* dst, int32x4_t v0, int32x4_t v1, int32x4_t v2, int32x4_t v3) {
    const int16x8_t lo = vcombine_s16(vqmovn_s32(v0), vqmovn_s32(v1));
    const int16x8_t hi = vcombine_s16(vqmovn_s32(v2), vqmovn_s32(v3));
    vst1q_s8(dst, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
}

// One 32-element block the Q8_0 way: d = amax / 127, q = round(x / d). Returns sum(q), and d.
int quantize_block32(const float* x, int8_t* qs, float* d_out) {
    float32x4_t v[8];
    float32x4_t amax4 = vdupq_n_f32(0.f);
    for (int i = 0; i < 8; ++i) {
        v[i] = vld1q_f32(x + 4 * i);
        amax4 = vmaxq_f32(amax4, vabsq_f32(v[i]));
    }
    const float d = vmaxvq_f32(amax4) / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    int32x4_t q[8];
    int32x4_t sum4 = vdupq_n_s32(0);
    for (int i = 0; i < 8; ++i) {
        q[i] = round_away_to_s32(vmulq_n_f32(v[i], id));
        sum4 = vaddq_s32(sum4, q[i]);
    }
    store_16_as_s8(qs, q[0], q[1], q[2], q[3]);
    store_16_as_s8(qs + 16, q[4], q[5], q[6], q[7]);
    *d_out = d;
    return vaddvq_s32(sum4);
}

// The signed element of largest magnitude; the first one on ties (as the reference's scan).
float signed_absmax(const float* x, int n) {
    float32x4_t hi = vld1q_f32(x), lo = hi;
    for (int i = 4; i < n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        hi = vmaxq_f32(hi, v);
        lo = vminq_f32(lo, v);
    }
    const float mx = vmaxvq_f32(hi), mn = vminvq_f32(lo);
    if (mx > -mn) return mx;
    if (-mn > mx) return mn;
    for (int i = 0; i < n; ++i)  // +a and -a both present: the earlier wins
        if (x[i] == mx || x[i] == mn) return x[i];
    return mx;
}

}  // namespace

void quantize_q8_0(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_0*>(vy);
    for (int64_t b = 0; b < n / QK8_0; ++b, x += QK8_0) {
        float d;
        quantize_block32(x, y[b].qs, &d);
        y[b].d = float_to_half(d);
    }
}

void quantize_q8_1(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_1*>(vy);
    for (int64_t b = 0; b < n / QK8_1; ++b, x += QK8_1) {
        float d;
        const int sum = quantize_block32(x, y[b].qs, &d);
        y[b].d = float_to_half(d);
        y[b].s = float_to_half(float(sum) * d);  // unrounded d, as the reference
    }
}

void quantize_q8_K(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_K*>(vy);
    for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
        const float max = signed_absmax(x, QK_K);
        if (max == 0.f) {
            y[b].d = 0.f;
            std::memset(y[b].qs, 0, sizeof y[b].qs);
            std::memset(y[b].bsums, 0, sizeof y[b].bsums);
            continue;
        }
        const float iscale = -127.f / max;
        const int32x4_t q_max = vdupq_n_s32(127);
        for (int g = 0; g < QK_K / 16; ++g) {
            int32x4_t q[4];
            for (int i = 0; i < 4; ++i)
                q[i] = vminq_s32(round_even_to_s32(vmulq_n_f32(vld1q_f32(x + 16 * g + 4 * i), iscale)), q_max);
            store_16_as_s8(y[b].qs + 16 * g, q[0], q[1], q[2], q[3]);
            y[b].bsums[g] = int16_t(vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]))));
        }
        y[b].d = 1.f / iscale;
    }
}

}  // namespace moecpu::kernels::MOECPU_NEON_NS
