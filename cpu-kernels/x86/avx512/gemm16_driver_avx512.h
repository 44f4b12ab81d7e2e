// The tile loop shared by the AVX-512 batched paths that repack 16 weight rows at a time
// (K-quants: kquant_gemm_avx512.h, Q8_0 / Q4_0 / Q5_0: legacy_gemm_avx512.h). Per slice of
// blocks it repacks the rows (a short tile from a copy padded with its last row), prefetches the
// rows' next bytes, and hands the slice to every group of columns; the formats only say how to
// repack a slice and how to dot it with a group of NC columns.
//
// A Format provides:
//   using Block;                               one repacked block of 16 rows
//   static constexpr int kSliceBlocks;         blocks repacked at a time
//   static constexpr int kBlockElements;       elements per block
//   static constexpr size_t kBlockBytes;       bytes per block in a weight row
//   static void repack(RowBlocks rows, int64_t b0, int n, Block* out);
//   template <int NC> static void dot(const TileArgs& t, const Block* blocks, int64_t b0, int n, int c0,
//                                     float (*tot)[kGemmRows]);   adds columns c0..c0+NC-1 to tot
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu-kernels/kernel_table.h"
#include "cpu-kernels/x86/avx512/avx512_tile_common.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

constexpr int kGemmRows = 16;  // one weight row per 32-bit lane
// Columns dotted together: NC int32 chains hide vpdpbusd's latency and each loaded weight
// register serves NC columns (12 measured slower than 8: registers run out).
constexpr int kGemmColumnGroup = 8;
// How far ahead of the repack each row is prefetched (into L2). 384 to 768 measured: more helps
// Q4_K at 8 columns, hurts Q6_K; 512 is the compromise.
constexpr size_t kGemmPrefetchBytes = 512;

// The 16 rows a repack reads: row r starts at first + r·stride (16 separate pointers do not fit
// in the general registers and were spilled).
struct RowBlocks {
    const uint8_t* first;
    size_t stride;
};

// The repack reads 16 rows at once, a pattern the hardware prefetchers follow poorly, so each
// slice prefetches the rows' next bytes while its dots run (into L2: measured better than L1).
MOECPU_AVX512_INLINE void prefetch_rows(const TileArgs& t, size_t begin, size_t end) {
    for (int r = 0; r < t.nr; ++r)
        for (size_t offset = begin; offset < end; offset += 64) __builtin_prefetch(t.w + r * t.w_row_bytes + offset, 0, 2);
}

// The remaining t.nc - c0 < NC + 1 columns, as one group.
template <class Format, int NC>
void gemm16_last_columns(const TileArgs& t, const typename Format::Block* blocks, int64_t b0, int n, int c0,
                         float (*tot)[kGemmRows]) {
    if (t.nc - c0 == NC) {
        Format::template dot<NC>(t, blocks, b0, n, c0, tot);
    } else if constexpr (NC > 1) {
        gemm16_last_columns<Format, NC - 1>(t, blocks, b0, n, c0, tot);
    }
}

// Up to 16 rows × up to kTileCols columns.
template <class Format>
void gemm16_tile(const TileArgs& t) {
    constexpr int kSlice = Format::kSliceBlocks;
    constexpr size_t kBlockBytes = Format::kBlockBytes;
    alignas(64) typename Format::Block blocks[kSlice];
    alignas(64) float tot[kTileCols][kGemmRows];
    alignas(64) uint8_t padded[kGemmRows][kSlice * kBlockBytes];
    for (int c = 0; c < t.nc; ++c) _mm512_store_ps(tot[c], _mm512_setzero_ps());

    const int64_t nb = t.k / Format::kBlockElements;
    const size_t row_bytes = size_t(nb) * kBlockBytes;
    size_t prefetched = size_t(nb < kSlice ? nb : kSlice) * kBlockBytes;
    for (int64_t b0 = 0; b0 < nb; b0 += kSlice) {
        const int n = nb - b0 < kSlice ? int(nb - b0) : kSlice;
        if (t.nr == kGemmRows) {
            Format::repack(RowBlocks{t.w, t.w_row_bytes}, b0, n, blocks);
        } else {
            for (int r = 0; r < kGemmRows; ++r)
                std::memcpy(padded[r], t.w + (r < t.nr ? r : t.nr - 1) * t.w_row_bytes + b0 * kBlockBytes, n * kBlockBytes);
            Format::repack(RowBlocks{padded[0], sizeof(padded[0])}, 0, n, blocks);
        }
        const size_t ahead = size_t(b0 + n) * kBlockBytes + kGemmPrefetchBytes;
        const size_t prefetch_end = ahead < row_bytes ? ahead : row_bytes;
        prefetch_rows(t, prefetched, prefetch_end);
        prefetched = prefetch_end > prefetched ? prefetch_end : prefetched;
        int c = 0;
        for (; c + kGemmColumnGroup <= t.nc; c += kGemmColumnGroup)
            Format::template dot<kGemmColumnGroup>(t, blocks, b0, n, c, tot);
        if (c < t.nc) gemm16_last_columns<Format, kGemmColumnGroup - 1>(t, blocks, b0, n, c, tot);
    }
    for (int c = 0; c < t.nc; ++c)
        for (int r = 0; r < t.nr; ++r) t.out[c * t.out_stride + r] = tot[c][r];
}

// Runs groups of 16 rows (the last one may be smaller but not below min_rows) through the
// repacked path, in column chunks of kTileCols; returns the rows left over for the row-by-row
// path (nr = 0 when none).
template <class Format>
TileArgs gemm16_rows(TileArgs t, int min_rows) {
    while (t.nr >= min_rows) {
        TileArgs rows = t;
        rows.nr = t.nr < kGemmRows ? t.nr : kGemmRows;
        for (int c0 = 0; c0 < t.nc; c0 += kTileCols) {
            TileArgs chunk = rows;
            chunk.nc = t.nc - c0 < kTileCols ? t.nc - c0 : kTileCols;
            chunk.a = t.a + c0 * t.a_row_bytes;
            chunk.out = t.out + c0 * t.out_stride;
            gemm16_tile<Format>(chunk);
        }
        t.w += rows.nr * t.w_row_bytes;
        t.out += rows.nr;
        t.nr -= rows.nr;
        if (t.nr == 0) break;
    }
    return t;
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
