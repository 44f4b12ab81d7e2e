// Tensor groups by name (see tensor_groups.h).
#include "examples/quantize/tensor_groups.h"

namespace moecpu::convert {

namespace {
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }
}  // namespace

TensorGroup tensor_group(std::string_view name, bool keep_f32) {
    if (keep_f32) return TensorGroup::Small;
    if (name == "token_embd.weight") return TensorGroup::Embedding;
    if (name == "output.weight") return TensorGroup::Output;
    if (contains(name, "_exps.")) return TensorGroup::RoutedExperts;
    if (contains(name, "_shexp.")) return TensorGroup::SharedExperts;
    if (contains(name, ".ffn_")) return TensorGroup::DenseFfn;
    return TensorGroup::Attention;
}

const char* tensor_group_name(TensorGroup g) {
    switch (g) {
        case TensorGroup::RoutedExperts: return "routed experts";
        case TensorGroup::SharedExperts: return "shared experts";
        case TensorGroup::DenseFfn: return "dense ffn";
        case TensorGroup::Attention: return "attention";
        case TensorGroup::Embedding: return "token embedding";
        case TensorGroup::Output: return "output head";
        case TensorGroup::Small: return "norms/router/bias (f32)";
    }
    return "?";
}

int layer_index(std::string_view name) {
    if (name.substr(0, 4) != "blk.") return -1;
    int v = 0;
    size_t i = 4;
    if (i >= name.size() || name[i] < '0' || name[i] > '9') return -1;
    for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) v = v * 10 + (name[i] - '0');
    return (i < name.size() && name[i] == '.') ? v : -1;
}

bool is_ffn_down(std::string_view name) { return contains(name, "ffn_down"); }

}  // namespace moecpu::convert
