// Feature-based choice and MOECPU_ISA lowering, through the pure choose_isa().
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "cpu-kernels/dispatch.h"

using namespace moecpu::kernels;

TEST_CASE("no features: scalar, whatever is asked", "[kernels][dispatch]") {
    const CpuFeatures none;
    std::string warning;
    CHECK(choose_isa(none, nullptr, &warning) == Isa::Scalar);
    CHECK(warning.empty());
    CHECK(choose_isa(none, "", &warning) == Isa::Scalar);
    CHECK(warning.empty());
    CHECK(choose_isa(none, "scalar", &warning) == Isa::Scalar);
    CHECK(warning.empty());
    CHECK(choose_isa(none, "avx512", &warning) == Isa::Scalar);
    CHECK(warning.find("not available") != std::string::npos);
    CHECK(choose_isa(none, "sse9", &warning) == Isa::Scalar);
    CHECK(warning.find("not one of") != std::string::npos);
}

TEST_CASE("a feature set without OS or companion bits does not enable an ISA", "[kernels][dispatch]") {
    CpuFeatures f;
    f.avx2 = true;  // no FMA / F16C
    CHECK_FALSE(isa_usable(Isa::Avx2, f));
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = true;  // no VNNI
    CHECK_FALSE(isa_usable(Isa::Avx512, f));
    CpuFeatures arm;
    arm.dotprod = true;  // no ASIMD
    CHECK_FALSE(isa_usable(Isa::NeonDot, arm));
}

TEST_CASE("this machine: the best table, and every lower one on request", "[kernels][dispatch]") {
    const CpuFeatures& f = cpu_features();
    std::string warning;
    const Isa best = choose_isa(f, nullptr, &warning);
    CHECK(table_for(best) != nullptr);
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::NeonDot}) {
        const Isa got = choose_isa(f, isa_name(isa), &warning);
        if (isa_usable(isa, f)) {
            CHECK(got == isa);
            CHECK(warning.empty());
            CHECK(table_for(isa) != nullptr);
            CHECK(table_for(isa)->isa == isa);
        } else {
            CHECK(got == best);
            CHECK_FALSE(warning.empty());
            CHECK(table_for(isa) == nullptr);
        }
    }
    // active() made the same choice from the real environment.
    CHECK(&active() == table_for(choose_isa(f, std::getenv("MOECPU_ISA"), nullptr)));
}

TEST_CASE("describe_cpu names the active table", "[kernels][dispatch]") {
    const std::string d = describe_cpu();
    CHECK(d.find("cpu features:") != std::string::npos);
    CHECK(d.find(std::string("kernel table active: ") + active().name) != std::string::npos);
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::NeonDot}) CHECK(std::string(isa_name(isa)) != "unknown");
}
