// The coarse groups a deepseek2 tensor belongs to, by GGUF name: presets choose types per group
// and the summary reports bits per weight per group (routed experts are ~88% of DeepSeek-V3).
#pragma once
#include <string_view>

namespace moecpu::convert {

enum class TensorGroup {
    RoutedExperts,  // blk.N.ffn_{gate,up,down}_exps.weight (3-D, one slice per expert)
    SharedExperts,  // blk.N.ffn_{gate,up,down}_shexp.weight
    DenseFfn,       // blk.N.ffn_{gate,up,down}.weight (the first dense layers)
    Attention,      // blk.N.attn_* matrices (q/kv LoRA, k_b/v_b or kv_b, output)
    Embedding,      // token_embd.weight
    Output,         // output.weight (the LM head)
    Small,          // norms, router, biases: stored in F32
};
constexpr int kTensorGroupCount = 7;

TensorGroup tensor_group(std::string_view gguf_name, bool keep_f32);
const char* tensor_group_name(TensorGroup g);

// The N of "blk.N." (-1 when the name has none).
int layer_index(std::string_view gguf_name);

// Down projections of any FFN kind (llama.cpp's `name.find("ffn_down")`).
bool is_ffn_down(std::string_view gguf_name);

}  // namespace moecpu::convert
