// Portable SIMD element-wise ops written once against xsimd::batch<float, Arch>. A translation
// unit compiled for an ISA instantiates them for its arch (the baseline TU uses
// xsimd::default_arch, x86/elementwise_avx512.cpp xsimd::avx512f; AVX2 / NEON folders may call
// fill_elementwise_xsimd<xsimd::fma3<xsimd::avx2>> or <xsimd::neon64>). They match the scalar
// loops in cpu-kernels/scalar to float rounding: sums are taken in float over chunks of
// kSumChunk elements and the chunks added in double, and exp is xsimd's (accurate to about 1 ulp,
// not a fast approximation).
// The ops call nothing from <cmath> or the STL that is an inline function (std::exp(float),
// std::fmax...): in an ISA translation unit an out-of-line copy of one, compiled with that ISA's
// flags, could be the copy the linker keeps for baseline code. Tails run as one batch in a padded
// local copy instead.
#pragma once
#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstdint>

#include "cpu-kernels/kernel_table.h"

namespace moecpu::kernels::xsimd_ops {

constexpr int64_t kSumChunk = 256;

template <class Arch>
struct Elementwise {
    using Batch = xsimd::batch<float, Arch>;
    static constexpr int64_t W = int64_t(Batch::size);

    // Sum of f(x[i]) for i < n; f maps a batch to a batch and a float to a float.
    template <class F>
    static double chunked_sum(const float* x, int64_t n, F f) {
        double total = 0.0;
        for (int64_t c0 = 0; c0 < n; c0 += kSumChunk) {
            const int64_t c1 = c0 + kSumChunk < n ? c0 + kSumChunk : n;
            Batch acc(0.0f);
            int64_t i = c0;
            for (; i + W <= c1; i += W) acc += f(Batch::load_unaligned(x + i));
            float part = xsimd::hadd(acc);
            for (; i < c1; ++i) part += f(x[i]);
            total += part;
        }
        return total;
    }

    static void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
        const double sum_sq = chunked_sum(x, n, [](auto v) { return v * v; });
        const float inv_rms = float(1.0 / std::sqrt(sum_sq / double(n) + double(eps)));
        const Batch s(inv_rms);
        int64_t i = 0;
        if (w) {
            for (; i + W <= n; i += W)
                (Batch::load_unaligned(x + i) * s * Batch::load_unaligned(w + i)).store_unaligned(y + i);
            for (; i < n; ++i) y[i] = x[i] * inv_rms * w[i];
        } else {
            for (; i + W <= n; i += W) (Batch::load_unaligned(x + i) * s).store_unaligned(y + i);
            for (; i < n; ++i) y[i] = x[i] * inv_rms;
        }
    }

    static void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
        const Batch one(1.0f);
        int64_t i = 0;
        for (; i + W <= n; i += W) {
            const Batch g = Batch::load_unaligned(gate + i);
            (g / (one + xsimd::exp(-g)) * Batch::load_unaligned(up + i)).store_unaligned(y + i);
        }
        if (i < n) {
            alignas(64) float g[W], u[W];
            for (int64_t l = 0; l < W; ++l) {
                g[l] = i + l < n ? gate[i + l] : 0.0f;
                u[l] = i + l < n ? up[i + l] : 0.0f;
            }
            const Batch gb = Batch::load_aligned(g);
            (gb / (one + xsimd::exp(-gb)) * Batch::load_aligned(u)).store_aligned(g);
            for (int64_t l = 0; i + l < n; ++l) y[i + l] = g[l];
        }
    }

    static void softmax(float* x, int64_t n) {
        const Batch m(max_of(x, n));
        int64_t i = 0;
        for (; i + W <= n; i += W) xsimd::exp(Batch::load_unaligned(x + i) - m).store_unaligned(x + i);
        if (i < n) {
            alignas(64) float lanes[W];
            for (int64_t l = 0; l < W; ++l) lanes[l] = i + l < n ? x[i + l] : -INFINITY;
            xsimd::exp(Batch::load_aligned(lanes) - m).store_aligned(lanes);
            for (int64_t l = 0; i + l < n; ++l) x[i + l] = lanes[l];
        }
        const double sum = chunked_sum(x, n, [](auto v) { return v; });
        scale(x, float(1.0 / sum), n);
    }

    static void add(const float* a, const float* b, float* y, int64_t n) {
        int64_t i = 0;
        for (; i + W <= n; i += W)
            (Batch::load_unaligned(a + i) + Batch::load_unaligned(b + i)).store_unaligned(y + i);
        for (; i < n; ++i) y[i] = a[i] + b[i];
    }

    static void scale(float* x, float s, int64_t n) {
        const Batch sb(s);
        int64_t i = 0;
        for (; i + W <= n; i += W) (Batch::load_unaligned(x + i) * sb).store_unaligned(x + i);
        for (; i < n; ++i) x[i] *= s;
    }

    // y += a * x (multiply then add, as the scalar loop; a compiler may still contract to fma).
    static void axpy(float a, const float* x, float* y, int64_t n) {
        const Batch ab(a);
        int64_t i = 0;
        for (; i + W <= n; i += W)
            (Batch::load_unaligned(y + i) + ab * Batch::load_unaligned(x + i)).store_unaligned(y + i);
        for (; i < n; ++i) y[i] += a * x[i];
    }

    // Pairs (2i, 2i+1): done on de-interleaved scalars in chunks of W pairs.
    static void rope_interleaved(float* x, const float* cos, const float* sin, int64_t n_dims) {
        const int64_t n_pairs = n_dims / 2;
        int64_t p = 0;
        alignas(64) float even[W], odd[W];
        for (; p + W <= n_pairs; p += W) {
            for (int64_t l = 0; l < W; ++l) {
                even[l] = x[2 * (p + l)];
                odd[l] = x[2 * (p + l) + 1];
            }
            const Batch x0 = Batch::load_aligned(even), x1 = Batch::load_aligned(odd);
            const Batch c = Batch::load_unaligned(cos + p), s = Batch::load_unaligned(sin + p);
            (x0 * c - x1 * s).store_aligned(even);
            (x0 * s + x1 * c).store_aligned(odd);
            for (int64_t l = 0; l < W; ++l) {
                x[2 * (p + l)] = even[l];
                x[2 * (p + l) + 1] = odd[l];
            }
        }
        for (; p < n_pairs; ++p) {
            const float x0 = x[2 * p], x1 = x[2 * p + 1];
            x[2 * p] = x0 * cos[p] - x1 * sin[p];
            x[2 * p + 1] = x0 * sin[p] + x1 * cos[p];
        }
    }

    // max_of / exp_scaled_sum: the two passes of the online softmax in MLA prefill attention.
    static float max_of(const float* x, int64_t n) {
        Batch max_b(-INFINITY);
        int64_t i = 0;
        for (; i + W <= n; i += W) max_b = xsimd::max(max_b, Batch::load_unaligned(x + i));
        alignas(64) float lanes[W];
        if (i < n) {
            for (int64_t l = 0; l < W; ++l) lanes[l] = i + l < n ? x[i + l] : -INFINITY;
            max_b = xsimd::max(max_b, Batch::load_aligned(lanes));
        }
        max_b.store_aligned(lanes);
        float max_v = -INFINITY;
        for (int64_t l = 0; l < W; ++l) max_v = lanes[l] > max_v ? lanes[l] : max_v;
        return max_v;
    }

    // fms rounds once where the arch has FMA: within an ulp of the scalar loop's argument.
    static float exp_scaled_sum(float* x, float scale, float shift, int64_t n) {
        const Batch s(scale), sh(shift);
        Batch acc(0.0f);
        int64_t i = 0;
        for (; i + W <= n; i += W) {
            const Batch e = xsimd::exp(xsimd::fms(s, Batch::load_unaligned(x + i), sh));
            e.store_unaligned(x + i);
            acc += e;
        }
        float sum = xsimd::hadd(acc);
        if (i < n) {
            alignas(64) float lanes[W];
            for (int64_t l = 0; l < W; ++l) lanes[l] = i + l < n ? x[i + l] : 0.0f;
            xsimd::exp(xsimd::fms(s, Batch::load_aligned(lanes), sh)).store_aligned(lanes);
            for (int64_t l = 0; i + l < n; ++l) {
                x[i + l] = lanes[l];
                sum += lanes[l];
            }
        }
        return sum;
    }
};

// Sets the element-wise entries of `t` to the xsimd versions for Arch.
template <class Arch>
constexpr void fill_elementwise_xsimd(KernelTable& t) {
    using E = Elementwise<Arch>;
    t.rms_norm = E::rms_norm;
    t.silu_mul = E::silu_mul;
    t.softmax = E::softmax;
    t.add = E::add;
    t.scale = E::scale;
    t.axpy = E::axpy;
    t.rope_interleaved = E::rope_interleaved;
    t.max_of = E::max_of;
    t.exp_scaled_sum = E::exp_scaled_sum;
}

// The baseline build's instance (SSE2 on x86-64, NEON on aarch64): a table with only the
// element-wise entries set. Defined in elementwise_xsimd.cpp.
const KernelTable& portable_elementwise();

// The AVX-512 instance (element-wise entries only), from x86/elementwise_avx512.cpp; x86 builds only.
const KernelTable& avx512_elementwise();

// What fills the null element-wise entries of `isa`'s table: the instance built for that ISA
// where there is one, else the portable one.
const KernelTable& elementwise_for(Isa isa);

}  // namespace moecpu::kernels::xsimd_ops
