// Chooses the kernel table once per process.
//
// The ISA getters are plain (strong) references, compiled in only where CMake builds that ISA's
// folder (MOECPU_HAVE_X86_KERNELS / MOECPU_HAVE_NEON_KERNELS). No weak fallbacks: a weak
// definition here would stop the linker from pulling the ISA objects out of libmoecpu.a, and a
// statically linked program would silently run scalar kernels.
#include "cpu-kernels/dispatch.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cpu-kernels/elementwise_xsimd.h"

namespace moecpu::kernels {

namespace {

constexpr Isa kAllIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::NeonDot};
constexpr int kIsaCount = 5;

// The ISA's own table as its folder defines it (entries may be null), or null.
const KernelTable* raw_table(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return scalar_table();
#if defined(MOECPU_HAVE_X86_KERNELS)
        case Isa::Avx2: return avx2_table();
        case Isa::Avx512: return avx512_table();
#endif
#if defined(MOECPU_HAVE_NEON_KERNELS)
        case Isa::Neon: return neon_table();
        case Isa::NeonDot: return neon_dotprod_table();
#endif
        default: return nullptr;
    }
}

bool features_allow(Isa isa, const CpuFeatures& f) {
    switch (isa) {
        case Isa::Scalar: return true;
        case Isa::Avx2: return f.avx2 && f.fma && f.f16c;
        case Isa::Avx512:
            return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni && f.fma && f.f16c;
        case Isa::Neon: return f.neon;
        case Isa::NeonDot: return f.neon && f.dotprod;
    }
    return false;
}

// Higher is preferred; x86 and arm ISAs never compete since only one family is usable.
int preference(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return 0;
        case Isa::Avx2: case Isa::Neon: return 1;
        case Isa::Avx512: case Isa::NeonDot: return 2;
    }
    return 0;
}

// A copy of the ISA's table with null entries filled: kernels from the scalar table, element-wise
// ops from the xsimd build for that ISA or the portable one (the scalar table itself is returned as is).
KernelTable completed(const KernelTable& own) {
    const KernelTable& ref = *scalar_table();
    const KernelTable& simd = xsimd_ops::elementwise_for(own.isa);
    KernelTable t = own;
    for (int i = 0; i < kTypeCount; ++i) {
        if (!t.quantize_act[i]) t.quantize_act[i] = ref.quantize_act[i];
        if (!t.mat_tile[i]) t.mat_tile[i] = ref.mat_tile[i];
    }
    if (!t.rms_norm) t.rms_norm = simd.rms_norm;
    if (!t.silu_mul) t.silu_mul = simd.silu_mul;
    if (!t.softmax) t.softmax = simd.softmax;
    if (!t.add) t.add = simd.add;
    if (!t.scale) t.scale = simd.scale;
    if (!t.axpy) t.axpy = simd.axpy;
    if (!t.rope_interleaved) t.rope_interleaved = simd.rope_interleaved;
    if (!t.max_of) t.max_of = simd.max_of;
    if (!t.exp_scaled_sum) t.exp_scaled_sum = simd.exp_scaled_sum;
    return t;
}

struct CompletedTables {
    KernelTable table[kIsaCount];
    bool present[kIsaCount] = {};
};

const CompletedTables& completed_tables() {
    static const CompletedTables all = [] {
        CompletedTables c;
        for (Isa isa : kAllIsas) {
            const int i = static_cast<int>(isa);
            const KernelTable* own = raw_table(isa);
            if (!own || !features_allow(isa, cpu_features())) continue;
            c.table[i] = isa == Isa::Scalar ? *own : completed(*own);
            c.present[i] = true;
        }
        return c;
    }();
    return all;
}

bool parse_isa(const char* s, Isa* out) {
    for (Isa isa : kAllIsas) {
        if (std::strcmp(s, isa_name(isa)) == 0) {
            *out = isa;
            return true;
        }
    }
    return false;
}

}  // namespace

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
        case Isa::Neon: return "neon";
        case Isa::NeonDot: return "neon-dotprod";
    }
    return "unknown";
}

bool isa_usable(Isa isa, const CpuFeatures& f) { return features_allow(isa, f) && raw_table(isa) != nullptr; }

Isa choose_isa(const CpuFeatures& f, const char* env_value, std::string* warning) {
    Isa best = Isa::Scalar;
    for (Isa isa : kAllIsas)
        if (isa_usable(isa, f) && preference(isa) > preference(best)) best = isa;
    if (warning) warning->clear();
    if (!env_value || !*env_value) return best;

    Isa wanted;
    if (!parse_isa(env_value, &wanted)) {
        if (warning)
            *warning = std::string("MOECPU_ISA=") + env_value +
                       " is not one of scalar, avx2, avx512, neon, neon-dotprod; using " + isa_name(best);
        return best;
    }
    if (!isa_usable(wanted, f)) {
        if (warning)
            *warning = std::string("MOECPU_ISA=") + env_value + " is not available on this CPU or build; using " +
                       isa_name(best);
        return best;
    }
    return wanted;  // usable implies no better than best: it can only lower the choice
}

const KernelTable* table_for(Isa isa) {
    const int i = static_cast<int>(isa);
    if (i < 0 || i >= kIsaCount) return nullptr;
    const CompletedTables& c = completed_tables();
    return c.present[i] ? &c.table[i] : nullptr;
}

const KernelTable& active() {
    static const KernelTable* chosen = [] {
        std::string warning;
        const Isa isa = choose_isa(cpu_features(), std::getenv("MOECPU_ISA"), &warning);
        if (!warning.empty()) std::fprintf(stderr, "moecpu: %s\n", warning.c_str());
        return table_for(isa);
    }();
    return *chosen;
}

std::string describe_cpu() {
    const CpuFeatures& f = cpu_features();
    std::string features;
    const auto flag = [&](bool on, const char* name) {
        if (!on) return;
        if (!features.empty()) features += ' ';
        features += name;
    };
    flag(f.avx2, "avx2");
    flag(f.fma, "fma");
    flag(f.f16c, "f16c");
    flag(f.bmi2, "bmi2");
    flag(f.avx512f, "avx512f");
    flag(f.avx512bw, "avx512bw");
    flag(f.avx512vl, "avx512vl");
    flag(f.avx512dq, "avx512dq");
    flag(f.avx512vnni, "avx512vnni");
    flag(f.avx512vbmi, "avx512vbmi");
    flag(f.neon, "neon");
    flag(f.dotprod, "dotprod");
    flag(f.i8mm, "i8mm");
    flag(f.fp16, "fp16");
    if (features.empty()) features = "(none beyond the baseline)";

    std::string tables;
    for (Isa isa : kAllIsas) {
        if (!table_for(isa)) continue;
        if (!tables.empty()) tables += ' ';
        tables += isa_name(isa);
    }
    const char* env = std::getenv("MOECPU_ISA");
    std::string out = "cpu features: " + features + "\n";
    out += "kernel tables usable: " + tables + "\n";
    out += std::string("kernel table active: ") + active().name;
    if (env && *env)
        out += std::string(" (MOECPU_ISA=") + env + (std::strcmp(env, isa_name(active().isa)) == 0 ? ")" : " ignored)");
    out += "\n";
    return out;
}

}  // namespace moecpu::kernels
