// The baseline instance of the xsimd element-wise ops (compiled with the project's portable
// flags, so xsimd::default_arch is SSE2 on x86-64 and NEON on aarch64).
#include "cpu-kernels/elementwise_xsimd.h"

namespace moecpu::kernels::xsimd_ops {

const KernelTable& portable_elementwise() {
    static const KernelTable table = [] {
        KernelTable t;
        t.name = "xsimd-baseline";
        fill_elementwise_xsimd<xsimd::default_arch>(t);
        return t;
    }();
    return table;
}

const KernelTable& elementwise_for(Isa isa) {
#if defined(MOECPU_HAVE_X86_KERNELS)
    // rope_interleaved stays on the portable build: its de-interleave through a lane buffer
    // (scalar stores, then one vector load) stalls store forwarding more at 16 lanes than at 4;
    // over the forward's q rows it took 146 ns per 64-dim head against 67.
    static const KernelTable avx512 = [] {
        KernelTable t = avx512_elementwise();
        t.rope_interleaved = portable_elementwise().rope_interleaved;
        return t;
    }();
    if (isa == Isa::Avx512) return avx512;
#endif
    (void)isa;
    return portable_elementwise();
}

}  // namespace moecpu::kernels::xsimd_ops
