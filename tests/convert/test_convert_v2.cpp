// A DeepSeek-V2-Lite-style checkpoint (no q-LoRA, softmax router, no bias, sharded, with an MTP
// layer) converts as llama.cpp would convert it.
#include <catch2/catch.hpp>

#include "convert_test_util.h"
#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/tensor_type_policy.h"
#include "lib/src/gguf.h"
#include "synthetic_checkpoint.h"

using namespace moecpu;
using namespace moecpu::test;
using S = SyntheticV2;

TEST_CASE("convert V2-Lite style: keys and tensors follow the config", "[convert][v2]") {
    ScratchDir dir;
    write_synthetic_v2(dir.path().string(), S::config());
    convert::ConvertOptions o;
    o.input_dir = dir.path().string();
    o.output_path = dir.file("v2.gguf");
    o.model_name = "synthetic-v2";
    o.log = nullptr;
    const auto result = convert::convert_hf_to_gguf(o, *convert::make_type_policy("f32"));
    REQUIRE(result.notes.size() == 1);
    CHECK(result.notes[0].find("multi-token-prediction") != std::string::npos);

    const auto g = gguf::Reader::open(o.output_path);
    CHECK(g->get_string("general.name") == "synthetic-v2");
    CHECK(g->get_u64("deepseek2.attention.q_lora_rank", 99) == 0);
    CHECK(g->get_u64("deepseek2.expert_gating_func", 99) == 1);
    CHECK(g->get_u64("deepseek2.expert_group_count", 99) == 1);
    CHECK(g->get_u64("deepseek2.expert_shared_count", 99) == 2);
    CHECK(g->get_u64("deepseek2.block_count", 99) == 2);
    CHECK(g->get_u64("deepseek2.attention.key_length", 0) == S::kKvLora + S::kRope);
    CHECK(g->get_u64("deepseek2.attention.key_length_mla", 0) == S::kNope + S::kRope);
    CHECK(g->get_f64("deepseek2.expert_weights_scale", 0) == 1.0);
    CHECK(g->get_f64("deepseek2.rope.scaling.yarn_log_multiplier", 0) == Approx(0.0707).epsilon(1e-6));
    CHECK_FALSE(g->has("deepseek2.expert_weights_norm"));  // norm_topk_prob false: not written

    // 3 global + layer 0 (2 norms + q, kv_a, kv_a_norm, k_b, v_b, output + 3 dense) + layer 1
    // (the same 8 + router + 3 exps + 3 shexp).
    CHECK(g->tensors().size() == 3 + 11 + 15);
    CHECK(g->find_tensor("blk.0.attn_q.weight") != nullptr);
    CHECK(g->find_tensor("blk.0.attn_q_a.weight") == nullptr);
    CHECK(g->find_tensor("blk.1.exp_probs_b.bias") == nullptr);
    CHECK(g->find_tensor("blk.2.attn_norm.weight") == nullptr);
    for (const auto& t : g->tensors()) CHECK(t.name.find("blk.2.") == std::string::npos);

    const gguf::TensorInfo* q = g->find_tensor("blk.0.attn_q.weight");
    REQUIRE(q->n_dims == 2);
    CHECK(q->ne[0] == S::kHidden);
    CHECK(q->ne[1] == S::kHeads * (S::kNope + S::kRope));
    const float* qd = reinterpret_cast<const float*>(q->data);
    for (int64_t i = 0; i < q->n_elements(); ++i) REQUIRE(qd[i] == S::value("model.layers.0.self_attn.q_proj.weight", i));

    const gguf::TensorInfo* sh = g->find_tensor("blk.1.ffn_down_shexp.weight");
    CHECK(sh->ne[0] == S::kShared * S::kMoeInter);
    CHECK(sh->ne[1] == S::kHidden);

    const gguf::TensorInfo* kb = g->find_tensor("blk.1.attn_k_b.weight");  // ne [nope, kv_lora, heads]
    REQUIRE(kb->ne[0] == S::kNope);
    REQUIRE(kb->ne[1] == S::kKvLora);
    REQUIRE(kb->ne[2] == S::kHeads);
    const float* kbd = reinterpret_cast<const float*>(kb->data);
    for (int64_t h = 0; h < S::kHeads; ++h)
        for (int64_t c = 0; c < S::kKvLora; ++c)
            for (int64_t k = 0; k < S::kNope; ++k)
                REQUIRE(kbd[(h * S::kKvLora + c) * S::kNope + k] ==
                        S::value("model.layers.1.self_attn.kv_b_proj.weight", (h * (S::kNope + S::kV) + k) * S::kKvLora + c));

    const gguf::TensorInfo* down = g->find_tensor("blk.1.ffn_down_exps.weight");  // ne [moe_inter, hidden, experts]
    REQUIRE(down->ne[2] == S::kExperts);
    const float* dd = reinterpret_cast<const float*>(down->data) + 3 * S::kHidden * S::kMoeInter;
    for (int64_t i = 0; i < S::kHidden * S::kMoeInter; ++i) REQUIRE(dd[i] == S::value("model.layers.1.mlp.experts.3.down_proj.weight", i));
}

TEST_CASE("convert V2-Lite style to bf16 and f16", "[convert][v2]") {
    ScratchDir dir;
    write_synthetic_v2(dir.path().string(), S::config());
    for (const char* type : {"bf16", "f16"}) {
        convert::ConvertOptions o;
        o.input_dir = dir.path().string();
        o.output_path = dir.file(std::string(type) + ".gguf");
        o.log = nullptr;
        convert::convert_hf_to_gguf(o, *convert::make_type_policy(type));
        const auto g = gguf::Reader::open(o.output_path);
        const GgmlType want = std::string(type) == "bf16" ? GgmlType::BF16 : GgmlType::F16;
        CHECK(g->find_tensor("blk.1.ffn_up_exps.weight")->type == want);
        CHECK(g->find_tensor("blk.1.attn_kv_a_norm.weight")->type == GgmlType::F32);
        CHECK(g->find_tensor("blk.1.ffn_gate_inp.weight")->type == GgmlType::F32);
    }
}
