// Both NEON tables, built from the aarch64 kernel sources through SIMDe (see CMakeLists.txt),
// against the scalar reference. SIMDe 0.7 emulates `sdot` too, so the dotprod tiles run here.
#include "tests/cpu-kernels/kernel_checks.h"

namespace moecpu::kernels {
const KernelTable* neon_simde_table();          // cpu-kernels/arm/neon/neon_tables.cpp,
const KernelTable* neon_dotprod_simde_table();  // renamed in the SIMDe build
}  // namespace moecpu::kernels

using moecpu::kernel_checks::check_table_against_scalar;

TEST_CASE("neon table (via SIMDe) matches the scalar reference", "[kernels][neon]") {
    const moecpu::kernels::KernelTable* t = moecpu::kernels::neon_simde_table();
    REQUIRE(t != nullptr);
    CHECK(t->isa == moecpu::kernels::Isa::Neon);
    check_table_against_scalar(*t);
}

TEST_CASE("neon-dotprod table (via SIMDe) matches the scalar reference", "[kernels][neon]") {
    const moecpu::kernels::KernelTable* t = moecpu::kernels::neon_dotprod_simde_table();
    REQUIRE(t != nullptr);
    CHECK(t->isa == moecpu::kernels::Isa::NeonDot);
    check_table_against_scalar(*t);
}
