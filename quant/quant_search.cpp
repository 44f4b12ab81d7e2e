// Scale searches shared by the quantizers; see quant_search.h for what each one minimises.
#include "quant/quant_search.h"

#include <algorithm>
#include <cmath>

namespace moecpu::qsearch {

namespace {

inline float weight_of(const float* w, const float* x, int i) { return w ? w[i] : x[i] * x[i]; }

// Element of largest magnitude, with its sign.
inline float signed_absmax(int n, const float* x, float* amax_out) {
    float amax = 0.f, max = 0.f;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    *amax_out = amax;
    return max;
}

inline int clamp_level(int l, int lo, int hi) { return std::max(lo, std::min(hi, l)); }

}  // namespace

float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* w) {
    float amax;
    const float max = signed_absmax(n, x, &amax);
    if (amax < kGroupMaxEps) {
        std::memset(L, 0, size_t(n));
        return 0.f;
    }
    // Candidate 0: the max element maps exactly to -nmax.
    float iscale = -float(nmax) / max;
    float sumlx = 0.f, suml2 = 0.f;
    for (int i = 0; i < n; ++i) {
        const int l = clamp_level(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = int8_t(l + nmax);
        const float wi = weight_of(w, x, i);
        sumlx += wi * x[i] * l;
        suml2 += wi * float(l) * float(l);
    }
    float scale = suml2 > 0.f ? sumlx / suml2 : 0.f;
    // For levels l fixed, the optimal d is sumlx/suml2 and the error drops by sumlx^2/suml2:
    // maximise that over the neighbouring inverse scales.
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(float(nmax) + 0.1f * float(is)) / max;
        sumlx = suml2 = 0.f;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_level(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float wi = weight_of(w, x, i);
            sumlx += wi * x[i] * l;
            suml2 += wi * float(l) * float(l);
        }
        if (suml2 > 0.f && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i)
                L[i] = int8_t(nmax + clamp_level(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
    float amax;
    const float max = signed_absmax(n, x, &amax);
    if (amax < kGroupMaxEps) {
        std::memset(L, 0, size_t(n));
        return 0.f;
    }
    const float iscale = -float(nmax) / max;
    float sumlx = 0.f, suml2 = 0.f;
    for (int i = 0; i < n; ++i) {
        const int l = clamp_level(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = int8_t(l);
        const float wi = x[i] * x[i];
        sumlx += wi * x[i] * l;
        suml2 += wi * float(l) * float(l);
    }
    // Coordinate descent on the levels: with the others fixed, the best level for x[i] is
    // x[i] / d where d is the least-squares scale of the rest; accept if the total improves.
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float wi = x[i] * x[i];
            float slx = sumlx - wi * x[i] * L[i];
            if (slx <= 0.f) continue;
            float sl2 = suml2 - wi * float(L[i]) * float(L[i]);
            const int new_l = clamp_level(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (new_l == L[i]) continue;
            slx += wi * x[i] * new_l;
            sl2 += wi * float(new_l) * float(new_l);
            if (sl2 > 0.f && slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = int8_t(new_l);
                sumlx = slx;
                suml2 = sl2;
                ++n_changed;
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = int8_t(L[i] + nmax);
    return suml2 > 0.f ? sumlx / suml2 : 0.f;
}

float make_qkx_quants(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min,
                      uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = 0.f, sum_x = 0.f;
    for (int i = 0; i < n; ++i) {
        min = std::min(min, x[i]);
        max = std::max(max, x[i]);
        const float wi = weight_of(w, x, i);
        sum_w += wi;
        sum_x += wi * x[i];
    }
    if (min > 0.f) min = 0.f;  // the offset only ever subtracts
    if (max <= min) {
        std::memset(L, 0, size_t(n));
        *the_min = -min;
        return 0.f;
    }
    auto error_of = [&](float d, float m, const uint8_t* lv) {
        float err = 0.f;
        for (int i = 0; i < n; ++i) {
            float diff = d * lv[i] + m - x[i];
            diff = use_mad ? std::fabs(diff) : diff * diff;
            err += weight_of(w, x, i) * diff;
        }
        return err;
    };
    float iscale = float(nmax) / (max - min);
    float scale = 1.f / iscale;
    for (int i = 0; i < n; ++i) L[i] = uint8_t(clamp_level(nearest_int(iscale * (x[i] - min)), 0, nmax));
    float best_error = error_of(scale, min, L);
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        // `min` is the best offset so far (ggml's behaviour: later candidates are centred on it).
        iscale = (rmin + rdelta * float(is) + float(nmax)) / (max - min);
        float sum_l = 0.f, sum_l2 = 0.f, sum_xl = 0.f;
        for (int i = 0; i < n; ++i) {
            const float v = iscale * (x[i] - min);
            const int l = v > 0.f ? nearest_int(std::min(v, float(nmax))) : 0;
            Laux[i] = uint8_t(l);
            const float wi = weight_of(w, x, i);
            sum_l += wi * float(l);
            sum_l2 += wi * float(l) * float(l);
            sum_xl += wi * float(l) * x[i];
        }
        // Weighted least squares for x ≈ d l + m over the 2x2 normal equations.
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D <= 0.f) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0.f) {
            this_min = 0.f;
            this_scale = sum_xl / sum_l2;
        }
        const float err = error_of(this_scale, this_min, Laux);
        if (err < best_error) {
            std::memcpy(L, Laux, size_t(n));
            best_error = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* w) {
    float max = 0.f;
    for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
    if (max < kGroupMaxEps) {
        std::memset(L, 0, size_t(n));
        return 0.f;
    }
    auto mse_at = [&](float isc) {
        const float sc = 1.f / isc;
        float mse = 0.f;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_level(nearest_int(isc * x[i]), 0, nmax);
            const float diff = x[i] - sc * float(l);
            mse += w[i] * diff * diff;
        }
        return mse;
    };
    float iscale = float(nmax) / max;
    float best_mse = mse_at(iscale);
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        const float isc = (0.1f * float(is) + float(nmax)) / max;
        const float mse = mse_at(isc);
        if (mse < best_mse) {
            best_mse = mse;
            iscale = isc;
        }
    }
    float sumlx = 0.f, suml2 = 0.f;
    for (int i = 0; i < n; ++i) {
        const int l = clamp_level(nearest_int(iscale * x[i]), 0, nmax);
        L[i] = uint8_t(l);
        sumlx += w[i] * x[i] * float(l);
        suml2 += w[i] * float(l) * float(l);
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            float slx = sumlx - w[i] * x[i] * float(L[i]);
            float sl2 = suml2 - w[i] * float(L[i]) * float(L[i]);
            if (!(slx > 0.f && sl2 > 0.f)) continue;
            const int new_l = clamp_level(nearest_int(x[i] * sl2 / slx), 0, nmax);
            if (new_l == L[i]) continue;
            slx += w[i] * x[i] * float(new_l);
            sl2 += w[i] * float(new_l) * float(new_l);
            if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = uint8_t(new_l);
                sumlx = slx;
                suml2 = sl2;
                ++n_changed;
            }
        }
        if (!n_changed) break;
    }
    return suml2 > 0.f ? sumlx / suml2 : 0.f;
}

}  // namespace moecpu::qsearch
