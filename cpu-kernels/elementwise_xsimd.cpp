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

}  // namespace moecpu::kernels::xsimd_ops
