// Scale searches shared by the quantizers (internal to quant/). These follow ggml's
// make_qx_quants / make_q3_quants / make_qkx2_quants / make_qkx3_quants / make_qp_quants so that
// moecpu's files have ggml's quality; the comments state what each one minimises.
//
// Conventions: `n` values x[0..n); levels are written to L as unsigned codes; `w` are per-value
// error weights (importance). Returned scale d reconstructs x[i] ≈ d * (L[i] - offset) [- m].
#pragma once
#include <cstdint>
#include <cstring>

namespace moecpu::qsearch {

// Tiny groups are treated as all zero (ggml's GROUP_MAX_EPS).
constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, via the 1.5 * 2^23 trick (independent of the FP rounding
// mode; identical to ggml's nearest_int). Arguments beyond ±4194303 are clamped first.
inline int nearest_int(float f) {
    if (!(f > -4194303.f)) f = -4194303.f;  // also maps NaN to a finite value
    if (f > 4194303.f) f = 4194303.f;
    const float v = f + 12582912.f;
    int32_t i;
    std::memcpy(&i, &v, sizeof i);
    return (i & 0x007FFFFF) - 0x00400000;
}

// Symmetric levels l in [-nmax, nmax-1] stored as L = l + nmax. The element of largest magnitude
// maps to -nmax (so its sign decides which end of the asymmetric range it uses). Minimises
// sum w (x - d l)^2 over 19 candidate inverse scales (nmax ± 0.9 .. ± 0.1) / max with the best
// least-squares d for each. w == nullptr means w = x^2. Returns d (0 for an all-zero group).
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* w);

// As make_qx_quants with w = x^2 (Q3_K's plain path), but refines by coordinate descent: each
// level is moved to its best value given the others, up to five sweeps. L = l + nmax.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L);

// Asymmetric levels L in [0, nmax] with x ≈ d L - m, m >= 0 (m is returned in *the_min as a
// positive number). Starts from the min/max fit, then tries nstep + 1 inverse scales
// (nmax + rmin + rdelta k) / (max - min), each with the weighted least-squares (d, m) for its
// levels; keeps the best by sum w |err| (use_mad) or sum w err^2. w == nullptr means w = x^2.
// Laux is scratch of n bytes. nstep < 1 returns the min/max fit.
float make_qkx_quants(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min,
                      uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

// Non-negative values (scales and mins of a super-block) to levels L in [0, nmax]: search 9
// inverse scales for the least weighted squared error, then coordinate-descent refinement of
// the levels. Returns d.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* w);

}  // namespace moecpu::qsearch
