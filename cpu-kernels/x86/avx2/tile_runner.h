// Walks a matmul tile (nr weight rows × nc activation columns) in register-blocked pieces.
// A format kernel K provides
//   static constexpr int kRows, kCols;   // block shape when nc > 1
//   static constexpr int kVecRows;       // rows per step for a matvec (nc == 1)
//   template <int R, int C> static void tile(int64_t k, const uint8_t* w, size_t w_row_bytes,
//                                            const uint8_t* a, size_t a_row_bytes,
//                                            float* out, size_t out_stride);
// which computes an R × C piece with every weight block unpacked once for all C columns.
// Row blocks are the outer loop so a block of weight rows stays in L1 while all column blocks
// use it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moecpu::kernels::avx2 {

// Picks the instantiation tile<r, c> for a tail block with r ≤ R, c ≤ C.
template <class K, int R, int C>
static inline void tile_tail(int r, int c, int64_t k, const uint8_t* w, size_t wrb,
                             const uint8_t* a, size_t arb, float* out, size_t os) {
    if constexpr (R > 1) {
        if (r < R) return tile_tail<K, R - 1, C>(r, c, k, w, wrb, a, arb, out, os);
    }
    if constexpr (C > 1) {
        if (c < C) return tile_tail<K, R, C - 1>(r, c, k, w, wrb, a, arb, out, os);
    }
    K::template tile<R, C>(k, w, wrb, a, arb, out, os);
}

template <class K>
static inline void run_tiles(int64_t k, const void* wv, size_t wrb, int nr, const void* av,
                             size_t arb, int nc, float* out, size_t os) {
    const auto* w = static_cast<const uint8_t*>(wv);
    const auto* a = static_cast<const uint8_t*>(av);
    if (nc == 1) {
        constexpr int R = K::kVecRows;
        int r = 0;
        for (; r + R <= nr; r += R) K::template tile<R, 1>(k, w + r * wrb, wrb, a, arb, out + r, os);
        if (r < nr) tile_tail<K, R, 1>(nr - r, 1, k, w + r * wrb, wrb, a, arb, out + r, os);
        return;
    }
    constexpr int R = K::kRows, C = K::kCols;
    for (int r = 0; r < nr; r += R) {
        const int rr = nr - r < R ? nr - r : R;
        for (int c = 0; c < nc; c += C) {
            const int cc = nc - c < C ? nc - c : C;
            const uint8_t* wr = w + r * wrb;
            const uint8_t* ac = a + c * arb;
            float* o = out + c * os + r;
            if (rr == R && cc == C)
                K::template tile<R, C>(k, wr, wrb, ac, arb, o, os);
            else
                tile_tail<K, R, C>(rr, cc, k, wr, wrb, ac, arb, o, os);
        }
    }
}

}  // namespace moecpu::kernels::avx2
