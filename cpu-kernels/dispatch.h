// Run-time choice of the kernel table.
#pragma once
#include "cpu-kernels/kernel_table.h"

namespace moecpu::kernels {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false, bmi2 = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false,
         avx512vbmi = false;
    bool neon = false, dotprod = false, i8mm = false, fp16 = false;
};

const CpuFeatures& cpu_features();  // detected once (cpuid/xgetbv, getauxval)

// Table for an ISA, or null if this build or this CPU lacks it.
const KernelTable* table_for(Isa isa);

// The process-wide table: the best the CPU supports, lowered by MOECPU_ISA=scalar|avx2|avx512|neon.
const KernelTable& active();

const char* isa_name(Isa isa);

}  // namespace moecpu::kernels
