// Type mixes (see quant_presets.h).
#include "examples/quantize/quant_presets.h"

#include <algorithm>
#include <cctype>

#include "examples/quantize/tensor_groups.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

namespace {

using T = GgmlType;

// llama.cpp's file types with a K-quant mix (LLAMA_FTYPE_MOSTLY_*).
enum class LlamaMix { Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M };

struct LlamaMixInfo {
    LlamaMix mix;
    const char* name;
    uint32_t ftype;
    GgmlType base;
};
constexpr LlamaMixInfo kLlamaMixes[] = {
    {LlamaMix::Q2_K, "Q2_K", 10, T::Q2_K},     {LlamaMix::Q3_K_S, "Q3_K_S", 11, T::Q3_K},
    {LlamaMix::Q3_K_M, "Q3_K_M", 12, T::Q3_K}, {LlamaMix::Q3_K_L, "Q3_K_L", 13, T::Q3_K},
    {LlamaMix::Q4_K_S, "Q4_K_S", 14, T::Q4_K}, {LlamaMix::Q4_K_M, "Q4_K_M", 15, T::Q4_K},
    {LlamaMix::Q5_K_S, "Q5_K_S", 16, T::Q5_K}, {LlamaMix::Q5_K_M, "Q5_K_M", 17, T::Q5_K},
};

// llama.cpp gives these layers of a stack of n more bits: the first and last eighth and every
// third layer in between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

class LlamaMixPolicy : public TensorTypePolicy {
public:
    explicit LlamaMixPolicy(const LlamaMixInfo& info) : info_(info) {}

    GgmlType type_for(const TensorTypeRequest& r) const override {
        if (r.name == "output.weight") return T::Q6_K;
        const int n = static_cast<int>(r.n_layer);
        const int i = layer_index(r.name);
        if (is_ffn_down(r.name)) {
            switch (info_.mix) {
                case LlamaMix::Q2_K: return T::Q3_K;
                case LlamaMix::Q3_K_M: return i < n / 16 ? T::Q5_K : T::Q4_K;
                case LlamaMix::Q3_K_L: return T::Q5_K;
                case LlamaMix::Q4_K_S: return i < n / 8 ? T::Q5_K : T::Q4_K;
                case LlamaMix::Q4_K_M: return use_more_bits(i, n) ? T::Q6_K : T::Q4_K;
                case LlamaMix::Q5_K_M: return use_more_bits(i, n) ? T::Q6_K : T::Q5_K;
                default: return info_.base;
            }
        }
        if (r.name.find("attn_output.weight") != std::string_view::npos) {
            switch (info_.mix) {
                case LlamaMix::Q2_K: return T::Q3_K;
                case LlamaMix::Q3_K_M: return T::Q4_K;
                case LlamaMix::Q3_K_L: return T::Q5_K;
                default: return info_.base;
            }
        }
        return info_.base;
    }
    uint32_t file_type() const override { return info_.ftype; }
    std::string description() const override { return std::string(info_.name) + " (llama.cpp mix)"; }

private:
    LlamaMixInfo info_;
};

struct MoeMixInfo {
    const char* name;
    uint32_t ftype;        // general.file_type: the llama.cpp mix with the same expert type
    GgmlType expert;       // routed ffn_gate_exps / ffn_up_exps
    GgmlType expert_down;  // routed ffn_down_exps
    GgmlType dense;        // attention, shared experts, dense FFN
    GgmlType edges;        // token embedding and output head
};
constexpr MoeMixInfo kMoeMixes[] = {
    {"MOE_Q2_K", 10, T::Q2_K, T::Q3_K, T::Q6_K, T::Q6_K},
    {"MOE_Q3_K", 12, T::Q3_K, T::Q4_K, T::Q6_K, T::Q6_K},
    {"MOE_Q4_K", 15, T::Q4_K, T::Q5_K, T::Q8_0, T::Q8_0},
};

class MoeMixPolicy : public TensorTypePolicy {
public:
    explicit MoeMixPolicy(const MoeMixInfo& info) : info_(info) {}

    GgmlType type_for(const TensorTypeRequest& r) const override {
        switch (tensor_group(r.name, r.keep_f32)) {
            case TensorGroup::RoutedExperts: return is_ffn_down(r.name) ? info_.expert_down : info_.expert;
            case TensorGroup::Embedding:
            case TensorGroup::Output: return info_.edges;
            case TensorGroup::Small: return T::F32;
            default: return info_.dense;
        }
    }
    uint32_t file_type() const override { return info_.ftype; }
    std::string description() const override {
        return std::string(info_.name) + " (experts " + traits_of(info_.expert).name + ", down " +
               traits_of(info_.expert_down).name + ", rest " + traits_of(info_.dense).name + ")";
    }

private:
    MoeMixInfo info_;
};

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

}  // namespace

std::unique_ptr<TensorTypePolicy> make_preset_policy(const std::string& name) {
    // Case-insensitive, except that a single type's spelling ("q2_k") means the single type.
    GgmlType single;
    const bool is_single_type = type_from_name(name, &single);
    for (const LlamaMixInfo& m : kLlamaMixes)
        if (name == m.name || (!is_single_type && upper(name) == m.name)) return std::make_unique<LlamaMixPolicy>(m);
    for (const MoeMixInfo& m : kMoeMixes)
        if (upper(name) == m.name) return std::make_unique<MoeMixPolicy>(m);
    return nullptr;
}

std::string preset_names() {
    std::string s;
    for (const LlamaMixInfo& m : kLlamaMixes) s += std::string(s.empty() ? "" : ", ") + m.name;
    for (const MoeMixInfo& m : kMoeMixes) s += std::string(", ") + m.name;
    return s;
}

}  // namespace moecpu::convert
