// Run-time choice of the kernel table.
#pragma once
#include <string>

#include "cpu-kernels/kernel_table.h"

namespace moecpu::kernels {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false, bmi2 = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false,
         avx512vbmi = false;
    bool neon = false, dotprod = false, i8mm = false, fp16 = false;
};

const CpuFeatures& cpu_features();  // detected once (cpuid/xgetbv, getauxval)

// Table for an ISA, or null if this build or this CPU lacks it. Null entries of the ISA's own
// table are filled (see kernel_table.h), so every entry of the returned table is callable.
const KernelTable* table_for(Isa isa);

// The process-wide table: the best the CPU supports, lowered by MOECPU_ISA=scalar|avx2|avx512|neon.
const KernelTable& active();

const char* isa_name(Isa isa);  // "scalar", "avx2", "avx512", "neon", "neon-dotprod"

// True when the CPU features allow the ISA and this build has its table.
bool isa_usable(Isa isa, const CpuFeatures& f);

// The choice active() makes, as a pure function: the best usable ISA for `f`, or the one named
// by `env_value` (MOECPU_ISA; null or empty = no request) when it is usable. An unknown or
// unusable request keeps the best and describes why in *warning (left empty otherwise).
Isa choose_isa(const CpuFeatures& f, const char* env_value, std::string* warning);

// Features detected and table chosen, one line each, for `moe-inspect --cpu`.
std::string describe_cpu();

}  // namespace moecpu::kernels
