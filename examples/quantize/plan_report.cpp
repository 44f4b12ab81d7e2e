// Plan listing and summary (see plan_report.h).
#include "examples/quantize/plan_report.h"

#include <string>

#include "examples/quantize/tensor_groups.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

namespace {

std::string shape_text(const StreamTensor& t) {
    std::string s = "[";
    for (int i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
    return s + "]";
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

void print_plan(const std::vector<StreamTensor>& tensors, std::FILE* out) {
    std::fprintf(out, "%-36s %-22s %-6s %-6s %12s  %s\n", "tensor", "shape", "from", "type", "bytes", "note");
    size_t n_fallback = 0;
    for (const StreamTensor& t : tensors) {
        std::string note;
        if (t.type != t.wanted_type) {
            ++n_fallback;
            note = std::string("fallback: rows of ") + std::to_string(t.ne[0]) + " are not a multiple of " +
                   traits_of(t.wanted_type).name + "'s " + std::to_string(traits_of(t.wanted_type).block_size) +
                   "-element blocks";
        } else if (t.raw != nullptr) {
            note = "copied";
        }
        std::fprintf(out, "%-36s %-22s %-6s %-6s %12llu  %s\n", t.name.c_str(), shape_text(t).c_str(),
                     traits_of(t.source_type).name, traits_of(t.type).name,
                     static_cast<unsigned long long>(t.n_bytes()), note.c_str());
    }
    if (n_fallback) std::fprintf(out, "%zu tensor(s) use a fallback type (see notes)\n", n_fallback);
    print_summary(tensors, -1.0, out);
}

double plan_bits_per_weight(const std::vector<StreamTensor>& tensors) {
    uint64_t bytes = 0, weights = 0;
    for (const StreamTensor& t : tensors) bytes += t.n_bytes(), weights += static_cast<uint64_t>(t.n_elements());
    return weights ? 8.0 * static_cast<double>(bytes) / static_cast<double>(weights) : 0.0;
}

void print_summary(const std::vector<StreamTensor>& tensors, double seconds, std::FILE* out) {
    uint64_t bytes[kTensorGroupCount] = {}, weights[kTensorGroupCount] = {};
    uint64_t all_bytes = 0, all_weights = 0;
    for (const StreamTensor& t : tensors) {
        const int g = static_cast<int>(tensor_group(t.name, t.keep_f32));
        bytes[g] += t.n_bytes();
        weights[g] += static_cast<uint64_t>(t.n_elements());
        all_bytes += t.n_bytes();
        all_weights += static_cast<uint64_t>(t.n_elements());
    }
    std::fprintf(out, "%-26s %14s %12s %7s %7s\n", "group", "weights", "MiB", "bpw", "share");
    for (int g = 0; g < kTensorGroupCount; ++g) {
        if (weights[g] == 0) continue;
        std::fprintf(out, "%-26s %14llu %12.3f %7.3f %6.1f%%\n", tensor_group_name(static_cast<TensorGroup>(g)),
                     static_cast<unsigned long long>(weights[g]), mib(bytes[g]),
                     8.0 * static_cast<double>(bytes[g]) / static_cast<double>(weights[g]),
                     100.0 * static_cast<double>(weights[g]) / static_cast<double>(all_weights));
    }
    std::fprintf(out, "%-26s %14llu %12.3f %7.3f\n", "total", static_cast<unsigned long long>(all_weights), mib(all_bytes),
                 all_weights ? 8.0 * static_cast<double>(all_bytes) / static_cast<double>(all_weights) : 0.0);
    if (seconds >= 0.0)
        std::fprintf(out, "time %.2f s (%.1f M weights/s)\n", seconds,
                     seconds > 0 ? static_cast<double>(all_weights) / seconds / 1e6 : 0.0);
}

}  // namespace moecpu::convert
