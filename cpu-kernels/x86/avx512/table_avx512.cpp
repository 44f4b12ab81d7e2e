// The AVX-512 kernel table (F + BW + VL + DQ + VNNI). Built at compile time, so no code of the
// shared KernelTable type is emitted with AVX-512 flags. Entries left null (element-wise ops,
// the f32 activation copy) are filled from the portable tables by dispatch.
#include "cpu-kernels/kernel_table.h"
#include "cpu-kernels/x86/avx512/avx512_kernels.h"

namespace moecpu::kernels {
namespace {

constexpr int slot(GgmlType t) { return static_cast<int>(t); }

constexpr KernelTable make_avx512_table() {
    namespace impl = MOECPU_AVX512_NS;
    KernelTable t;
    t.isa = Isa::Avx512;
#if defined(MOECPU_AVX512_VIA_SIMDE)
    t.name = "avx512-simde";
#else
    t.name = "avx512";
#endif
    t.quantize_act[slot(GgmlType::Q8_0)] = impl::quantize_act_q8_0;
    t.quantize_act[slot(GgmlType::Q8_1)] = impl::quantize_act_q8_1;
    t.quantize_act[slot(GgmlType::Q8_K)] = impl::quantize_act_q8_K;
    t.mat_tile[slot(GgmlType::Q4_0)] = impl::mat_tile_q4_0;
    t.mat_tile[slot(GgmlType::Q4_1)] = impl::mat_tile_q4_1;
    t.mat_tile[slot(GgmlType::Q5_0)] = impl::mat_tile_q5_0;
    t.mat_tile[slot(GgmlType::Q5_1)] = impl::mat_tile_q5_1;
    t.mat_tile[slot(GgmlType::Q8_0)] = impl::mat_tile_q8_0;
    t.mat_tile[slot(GgmlType::Q2_K)] = impl::mat_tile_q2_K;
    t.mat_tile[slot(GgmlType::Q3_K)] = impl::mat_tile_q3_K;
    t.mat_tile[slot(GgmlType::Q4_K)] = impl::mat_tile_q4_K;
    t.mat_tile[slot(GgmlType::Q5_K)] = impl::mat_tile_q5_K;
    t.mat_tile[slot(GgmlType::Q6_K)] = impl::mat_tile_q6_K;
    t.mat_tile[slot(GgmlType::F32)] = impl::mat_tile_f32;
    t.mat_tile[slot(GgmlType::F16)] = impl::mat_tile_f16;
    t.mat_tile[slot(GgmlType::BF16)] = impl::mat_tile_bf16;
    return t;
}

constexpr KernelTable kAvx512Table = make_avx512_table();

}  // namespace

#if defined(MOECPU_AVX512_VIA_SIMDE)
const KernelTable* avx512_simde_table();  // declared here only: the test build's own getter
#endif

// Callers check the CPU first (dispatch.cpp); this only hands out the table.
const KernelTable* MOECPU_AVX512_TABLE_GETTER() { return &kAvx512Table; }

}  // namespace moecpu::kernels
