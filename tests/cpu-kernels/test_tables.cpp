// Every kernel table this machine can run, checked against the scalar reference.
#include <catch2/catch.hpp>

#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/elementwise_xsimd.h"
#include "kernel_checks.h"

using namespace moecpu;
using namespace moecpu::kernels;

// The harness run on the reference itself: proves the harness accepts a correct table (all
// tolerances, sentinels and generators). Two formats suffice; the ISA tables cover all of them.
TEST_CASE("the scalar table passes its own harness", "[kernels][harness]") {
    const KernelTable& ref = *scalar_table();
    kernel_checks::check_quantize_act(ref, ref);
    kernel_checks::check_mat_tile(ref, GgmlType::Q4_1, ref);
    kernel_checks::check_mat_tile(ref, GgmlType::Q4_K, ref);
    kernel_checks::check_elementwise(ref, ref);
}

TEST_CASE("portable xsimd element-wise ops match the scalar loops", "[kernels][xsimd]") {
    kernel_checks::check_elementwise(xsimd_ops::portable_elementwise(), *scalar_table());
}

TEST_CASE("AVX-512 xsimd element-wise ops match the scalar loops", "[kernels][xsimd]") {
    if (!table_for(Isa::Avx512)) {
        WARN("no avx512 table on this machine / build");
        return;
    }
    kernel_checks::check_elementwise(xsimd_ops::elementwise_for(Isa::Avx512), *scalar_table());
}

TEST_CASE("every usable ISA table matches the scalar table", "[kernels][isa]") {
    for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::NeonDot}) {
        const KernelTable* t = table_for(isa);
        if (!t) {
            WARN("no " << isa_name(isa) << " table on this machine / build");
            continue;
        }
        INFO("table " << isa_name(isa));
        kernel_checks::check_table_against_scalar(*t);
    }
}

TEST_CASE("completed tables have no null entries for supported formats", "[kernels][dispatch]") {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::NeonDot}) {
        const KernelTable* t = table_for(isa);
        if (!t) continue;
        for (GgmlType wt : kernel_checks::kWeightTypes) {
            CHECK(t->mat_tile[kernel_checks::idx(wt)] != nullptr);
            CHECK(t->quantize_act[kernel_checks::idx(act_type_for(wt))] != nullptr);
        }
        CHECK(t->rms_norm);
        CHECK(t->silu_mul);
        CHECK(t->softmax);
        CHECK(t->add);
        CHECK(t->scale);
        CHECK(t->axpy);
        CHECK(t->rope_interleaved);
    }
}
