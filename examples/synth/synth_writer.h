// Writes a synthetic `deepseek2` GGUF: the tensor list of a real checkpoint, random weights
// written directly in a quantized type (no float copy of any big tensor), streamed through
// gguf::Writer so the file appears only when complete.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "examples/synth/synth_arch.h"

namespace moecpu::synth {

struct SynthSummary {
    uint64_t file_bytes = 0;
    uint64_t tensor_bytes = 0;
    uint64_t expert_bytes = 0;                                // routed expert tensors (*_exps)
    int64_t n_tensors = 0;
    std::vector<std::pair<std::string, uint64_t>> bytes_by_type;  // e.g. {"q2_K", 123}
    std::vector<std::string> notes;                           // type fallbacks and the like
};

// Called now and then with bytes of tensor data written so far and the total.
using SynthProgress = std::function<void(uint64_t done, uint64_t total)>;

// Throws moecpu::Error naming the problem (unsupported type, I/O failure).
SynthSummary write_synth_model(const SynthSpec& spec, const std::string& path, const SynthProgress& progress = {});

}  // namespace moecpu::synth
