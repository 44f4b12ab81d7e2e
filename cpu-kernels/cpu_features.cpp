// CPU feature detection, run once. x86: cpuid for the instruction sets plus xgetbv to confirm the
// OS saves YMM / ZMM state (a CPU with AVX-512 under an OS that does not is treated as without).
// aarch64 Linux: the kernel's HWCAP bits.
#include "cpu-kernels/dispatch.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace moecpu::kernels {
namespace {

#if defined(__x86_64__) || defined(_M_X64)

inline bool bit(unsigned reg, int n) { return (reg >> n) & 1u; }

// XCR0: the register-state components the OS enabled.
uint64_t read_xcr0() {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t(hi) << 32) | lo;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = bit(c, 27), avx = bit(c, 28);
    const bool fma = bit(c, 12), f16c = bit(c, 29);
    if (!osxsave || !avx) return f;
    const uint64_t xcr0 = read_xcr0();
    const bool ymm_state = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
    const bool zmm_state = (xcr0 & 0xE0) == 0xE0;  // opmask + ZMM_Hi256 + Hi16_ZMM
    if (!ymm_state) return f;
    f.fma = fma;
    f.f16c = f16c;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    f.avx2 = bit(b, 5);
    f.bmi2 = bit(b, 8);
    if (zmm_state) {
        f.avx512f = bit(b, 16);
        f.avx512dq = bit(b, 17);
        f.avx512bw = bit(b, 30);
        f.avx512vl = bit(b, 31);
        f.avx512vbmi = bit(c, 1);
        f.avx512vnni = bit(c, 11);
    }
    return f;
}

#elif defined(__aarch64__) && defined(__linux__)

CpuFeatures detect() {
    // Bit numbers of the Linux arm64 ABI (asm/hwcap.h), spelled out to need no kernel headers.
    constexpr unsigned long kHwcapAsimd = 1ul << 1, kHwcapAsimdHp = 1ul << 10,
                            kHwcapAsimdDp = 1ul << 20;
    constexpr unsigned long kHwcap2I8mm = 1ul << 13;
    const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    CpuFeatures f;
    f.neon = (hw & kHwcapAsimd) != 0;
    f.fp16 = (hw & kHwcapAsimdHp) != 0;
    f.dotprod = (hw & kHwcapAsimdDp) != 0;
    f.i8mm = (hw2 & kHwcap2I8mm) != 0;
    return f;
}

#elif defined(__aarch64__)

CpuFeatures detect() {
    CpuFeatures f;
    f.neon = true;  // ASIMD is part of armv8-a; the optional extensions stay off without HWCAPs
    return f;
}

#else

CpuFeatures detect() { return CpuFeatures{}; }

#endif

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

}  // namespace moecpu::kernels
