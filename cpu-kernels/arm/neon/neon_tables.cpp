// The two NEON kernel tables. "neon" needs only armv8-a ASIMD; "neon-dotprod" swaps in the
// int8 tiles built with `sdot` and keeps the rest (activation quantizers and float tiles gain
// nothing from dotprod). Element-wise ops stay null: the dispatcher fills them portably.
#include "cpu-kernels/arm/neon/neon_kernels.h"
#include "cpu-kernels/kernel_table.h"

// The SIMDe test build (x86) must not define the real getters the dispatcher looks for.
#if defined(MOECPU_NEON_VIA_SIMDE)
#define MOECPU_NEON_TABLE_GETTER neon_simde_table
#define MOECPU_NEON_DOTPROD_TABLE_GETTER neon_dotprod_simde_table
#else
#define MOECPU_NEON_TABLE_GETTER neon_table
#define MOECPU_NEON_DOTPROD_TABLE_GETTER neon_dotprod_table
#endif

namespace moecpu::kernels {
namespace {

constexpr int idx(GgmlType t) { return static_cast<int>(t); }

KernelTable make_neon_table() {
    namespace k = MOECPU_NEON_NS;
    KernelTable t;
    t.isa = Isa::Neon;
    t.name = "neon";
    t.quantize_act[idx(GgmlType::Q8_0)] = k::quantize_q8_0;
    t.quantize_act[idx(GgmlType::Q8_1)] = k::quantize_q8_1;
    t.quantize_act[idx(GgmlType::Q8_K)] = k::quantize_q8_K;
    t.mat_tile[idx(GgmlType::F32)] = k::tile_f32;
    t.mat_tile[idx(GgmlType::F16)] = k::tile_f16;
    t.mat_tile[idx(GgmlType::BF16)] = k::tile_bf16;
    t.mat_tile[idx(GgmlType::Q4_0)] = k::tile_q4_0;
    t.mat_tile[idx(GgmlType::Q4_1)] = k::tile_q4_1;
    t.mat_tile[idx(GgmlType::Q5_0)] = k::tile_q5_0;
    t.mat_tile[idx(GgmlType::Q5_1)] = k::tile_q5_1;
    t.mat_tile[idx(GgmlType::Q8_0)] = k::tile_q8_0;
    t.mat_tile[idx(GgmlType::Q2_K)] = k::tile_q2_K;
    t.mat_tile[idx(GgmlType::Q3_K)] = k::tile_q3_K;
    t.mat_tile[idx(GgmlType::Q4_K)] = k::tile_q4_K;
    t.mat_tile[idx(GgmlType::Q5_K)] = k::tile_q5_K;
    t.mat_tile[idx(GgmlType::Q6_K)] = k::tile_q6_K;
    return t;
}

KernelTable make_neon_dotprod_table() {
    namespace k = MOECPU_NEON_NS::sdot;
    KernelTable t = make_neon_table();
    t.isa = Isa::NeonDot;
    t.name = "neon-dotprod";
    t.mat_tile[idx(GgmlType::Q4_0)] = k::tile_q4_0;
    t.mat_tile[idx(GgmlType::Q4_1)] = k::tile_q4_1;
    t.mat_tile[idx(GgmlType::Q5_0)] = k::tile_q5_0;
    t.mat_tile[idx(GgmlType::Q5_1)] = k::tile_q5_1;
    t.mat_tile[idx(GgmlType::Q8_0)] = k::tile_q8_0;
    t.mat_tile[idx(GgmlType::Q2_K)] = k::tile_q2_K;
    t.mat_tile[idx(GgmlType::Q3_K)] = k::tile_q3_K;
    t.mat_tile[idx(GgmlType::Q4_K)] = k::tile_q4_K;
    t.mat_tile[idx(GgmlType::Q5_K)] = k::tile_q5_K;
    t.mat_tile[idx(GgmlType::Q6_K)] = k::tile_q6_K;
    return t;
}

}  // namespace

// Only ever called after the dispatcher saw ASIMD (and ASIMDDP for the second) in AT_HWCAP.
const KernelTable* MOECPU_NEON_TABLE_GETTER() {
    static const KernelTable table = make_neon_table();
    return &table;
}

const KernelTable* MOECPU_NEON_DOTPROD_TABLE_GETTER() {
    static const KernelTable table = make_neon_dotprod_table();
    return &table;
}

}  // namespace moecpu::kernels
