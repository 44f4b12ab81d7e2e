// The xsimd element-wise ops built for AVX-512: 16 lanes instead of the portable build's 4 (SSE2).
// Compiled with the AVX-512 flags and only reached through the avx512 table (dispatch.cpp fills
// its null element-wise entries from here), so only after CPU detection.
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_ps(), which it then reports as
// "may be used uninitialized" wherever xsimd inlines them (GCC bug 105593): not ours to fix.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "cpu-kernels/elementwise_xsimd.h"

namespace moecpu::kernels::xsimd_ops {
namespace {

// Built at compile time (as the ISA folders' tables), so no code of the shared KernelTable type
// is emitted with AVX-512 flags.
constexpr KernelTable make_avx512_elementwise() {
    KernelTable t;
    t.isa = Isa::Avx512;
    t.name = "xsimd-avx512";
    fill_elementwise_xsimd<xsimd::avx512f>(t);
    return t;
}

constexpr KernelTable kAvx512Elementwise = make_avx512_elementwise();

}  // namespace

const KernelTable& avx512_elementwise() { return kAvx512Elementwise; }

}  // namespace moecpu::kernels::xsimd_ops
