// The AVX2 (+ FMA + F16C) kernel table. Built entirely at compile time (constexpr), so no code
// compiled with AVX2 flags runs before dispatch has checked the CPU. Element-wise ops are left
// null: dispatch fills them (and any other null entry) from the portable implementations.
#include "cpu-kernels/kernel_table.h"
#include "cpu-kernels/x86/avx2/kernels_avx2.h"

namespace moecpu::kernels {
namespace {

constexpr int idx(GgmlType t) { return static_cast<int>(t); }

constexpr KernelTable build_avx2_table() {
    KernelTable t;
    t.isa = Isa::Avx2;
    t.name = "avx2";
    // Indexed by the activation type.
    t.quantize_act[idx(GgmlType::Q8_0)] = avx2::quantize_act_q8_0;
    t.quantize_act[idx(GgmlType::Q8_1)] = avx2::quantize_act_q8_1;
    t.quantize_act[idx(GgmlType::Q8_K)] = avx2::quantize_act_q8_K;
    // Indexed by the weight type.
    t.mat_tile[idx(GgmlType::Q4_0)] = avx2::mat_tile_q4_0;
    t.mat_tile[idx(GgmlType::Q4_1)] = avx2::mat_tile_q4_1;
    t.mat_tile[idx(GgmlType::Q5_0)] = avx2::mat_tile_q5_0;
    t.mat_tile[idx(GgmlType::Q5_1)] = avx2::mat_tile_q5_1;
    t.mat_tile[idx(GgmlType::Q8_0)] = avx2::mat_tile_q8_0;
    t.mat_tile[idx(GgmlType::Q2_K)] = avx2::mat_tile_q2_K;
    t.mat_tile[idx(GgmlType::Q3_K)] = avx2::mat_tile_q3_K;
    t.mat_tile[idx(GgmlType::Q4_K)] = avx2::mat_tile_q4_K;
    t.mat_tile[idx(GgmlType::Q5_K)] = avx2::mat_tile_q5_K;
    t.mat_tile[idx(GgmlType::Q6_K)] = avx2::mat_tile_q6_K;
    t.mat_tile[idx(GgmlType::F32)] = avx2::mat_tile_f32;
    t.mat_tile[idx(GgmlType::F16)] = avx2::mat_tile_f16;
    t.mat_tile[idx(GgmlType::BF16)] = avx2::mat_tile_bf16;
    return t;
}

constexpr KernelTable kAvx2Table = build_avx2_table();

}  // namespace

const KernelTable* avx2_table() { return &kAvx2Table; }

}  // namespace moecpu::kernels
