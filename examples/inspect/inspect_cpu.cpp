// moe-inspect --cpu: what the kernel dispatcher sees on this machine.
#include "cpu-kernels/dispatch.h"
#include "examples/inspect/inspect.h"

namespace moecpu::inspect {

std::string cpu_text() { return kernels::describe_cpu(); }

nlohmann::ordered_json cpu_json() {
    const kernels::CpuFeatures& f = kernels::cpu_features();
    nlohmann::ordered_json usable = nlohmann::ordered_json::array();
    for (kernels::Isa isa : {kernels::Isa::Scalar, kernels::Isa::Avx2, kernels::Isa::Avx512, kernels::Isa::Neon,
                             kernels::Isa::NeonDot}) {
        if (kernels::table_for(isa) != nullptr) usable.push_back(kernels::isa_name(isa));
    }
    return {{"features",
             {{"avx2", f.avx2}, {"fma", f.fma}, {"f16c", f.f16c}, {"bmi2", f.bmi2}, {"avx512f", f.avx512f},
              {"avx512bw", f.avx512bw}, {"avx512vl", f.avx512vl}, {"avx512dq", f.avx512dq},
              {"avx512vnni", f.avx512vnni}, {"avx512vbmi", f.avx512vbmi}, {"neon", f.neon},
              {"dotprod", f.dotprod}, {"i8mm", f.i8mm}, {"fp16", f.fp16}}},
            {"kernel_tables", std::move(usable)},
            {"active", kernels::active().name}};
}

}  // namespace moecpu::inspect
