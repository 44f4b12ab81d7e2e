// The scalar reference table: every format and op, no SIMD. Always available.
#include "cpu-kernels/scalar/scalar_kernels.h"
#include "quant/quantize_ref.h"

namespace moecpu::kernels {
namespace {

constexpr int idx(GgmlType t) { return static_cast<int>(t); }

KernelTable build_scalar_table() {
    using namespace scalar;
    KernelTable t;
    t.isa = Isa::Scalar;
    t.name = "scalar";

    // Indexed by activation type; the Q8 quantizers are ggml's reference, bit for bit.
    t.quantize_act[idx(GgmlType::Q8_0)] = quantize_row_q8_0_ref;
    t.quantize_act[idx(GgmlType::Q8_1)] = quantize_row_q8_1_ref;
    t.quantize_act[idx(GgmlType::Q8_K)] = quantize_row_q8_K_ref;
    t.quantize_act[idx(GgmlType::F32)] = copy_f32_act;

    t.mat_tile[idx(GgmlType::Q4_0)] = mat_tile_by_rows<dot_q4_0>;
    t.mat_tile[idx(GgmlType::Q4_1)] = mat_tile_by_rows<dot_q4_1>;
    t.mat_tile[idx(GgmlType::Q5_0)] = mat_tile_by_rows<dot_q5_0>;
    t.mat_tile[idx(GgmlType::Q5_1)] = mat_tile_by_rows<dot_q5_1>;
    t.mat_tile[idx(GgmlType::Q8_0)] = mat_tile_by_rows<dot_q8_0>;
    t.mat_tile[idx(GgmlType::Q2_K)] = mat_tile_by_rows<dot_q2_K>;
    t.mat_tile[idx(GgmlType::Q3_K)] = mat_tile_by_rows<dot_q3_K>;
    t.mat_tile[idx(GgmlType::Q4_K)] = mat_tile_by_rows<dot_q4_K>;
    t.mat_tile[idx(GgmlType::Q5_K)] = mat_tile_by_rows<dot_q5_K>;
    t.mat_tile[idx(GgmlType::Q6_K)] = mat_tile_by_rows<dot_q6_K>;
    t.mat_tile[idx(GgmlType::F32)] = mat_tile_by_rows<dot_f32>;
    t.mat_tile[idx(GgmlType::F16)] = mat_tile_by_rows<dot_f16>;
    t.mat_tile[idx(GgmlType::BF16)] = mat_tile_by_rows<dot_bf16>;

    t.rms_norm = rms_norm;
    t.silu_mul = silu_mul;
    t.softmax = softmax;
    t.add = add;
    t.scale = scale;
    t.axpy = axpy;
    t.rope_interleaved = rope_interleaved;
    t.max_of = max_of;
    t.exp_scaled_sum = exp_scaled_sum;
    return t;
}

}  // namespace

const KernelTable* scalar_table() {
    static const KernelTable table = build_scalar_table();
    return &table;
}

}  // namespace moecpu::kernels
