// Type planning: single types, llama.cpp presets, MoE presets, regex overrides, fallbacks, and
// the --dry-run plan of the tiny model.
#include <catch2/catch.hpp>

#include <filesystem>

#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/quant_presets.h"
#include "examples/quantize/tensor_type_policy.h"
#include "examples/quantize/type_overrides.h"
#include "convert_test_util.h"
#include "lib/src/error.h"
#include "quant/type_traits.h"
#include "quant_test_util.h"

using namespace moecpu;
using namespace moecpu::convert;

namespace {

const int64_t kWide[3] = {7168, 2048, 256};   // a DeepSeek-V3 routed expert stack
const int64_t kNarrow[2] = {128, 7168};       // 128-wide rows (attn_k_b-like)
const int64_t kOdd[2] = {48, 16};             // not even a 32-element block

GgmlType pick(const TensorTypePolicy& p, const char* name, const int64_t* ne, int n_dims = 2, int64_t n_layer = 61) {
    return choose_tensor_type(p, {name, n_dims, ne, llama_cpp_keeps_f32(name, n_dims), n_layer}).type;
}

}  // namespace

TEST_CASE("single types: every listed type, F32 rules, fallbacks", "[quantize]") {
    for (GgmlType t : kSingleTypes) {
        const auto p = make_type_policy(traits_of(t).name);
        CHECK(pick(*p, "blk.3.ffn_up_exps.weight", kWide, 3) == t);
        CHECK(pick(*p, "blk.3.ffn_norm.weight", kWide, 1) == GgmlType::F32);
        CHECK(pick(*p, "blk.3.ffn_gate_inp.weight", kWide, 2) == GgmlType::F32);
        CHECK(pick(*p, "blk.3.exp_probs_b.bias", kWide, 1) == GgmlType::F32);
    }
    // llama.cpp's fallbacks for 256-element super-blocks on 128-wide rows.
    CHECK(row_length_fallback(GgmlType::Q2_K, 128) == GgmlType::Q4_0);
    CHECK(row_length_fallback(GgmlType::Q3_K, 128) == GgmlType::Q4_0);
    CHECK(row_length_fallback(GgmlType::Q4_K, 128) == GgmlType::Q5_0);
    CHECK(row_length_fallback(GgmlType::Q5_K, 128) == GgmlType::Q5_1);
    CHECK(row_length_fallback(GgmlType::Q6_K, 128) == GgmlType::Q8_0);
    CHECK(row_length_fallback(GgmlType::Q6_K, 48) == GgmlType::F16);
    CHECK(row_length_fallback(GgmlType::Q8_0, 48) == GgmlType::F16);
    CHECK(row_length_fallback(GgmlType::BF16, 48) == GgmlType::BF16);
    const auto q4k = make_type_policy("q4_k");
    const TypeChoice c = choose_tensor_type(*q4k, {"blk.0.attn_k_b.weight", 2, kNarrow, false, 61});
    CHECK(c.wanted == GgmlType::Q4_K);
    CHECK(c.type == GgmlType::Q5_0);
    CHECK(c.fell_back());
    CHECK(pick(*q4k, "blk.0.attn_k_b.weight", kOdd) == GgmlType::F16);
    CHECK_THROWS_WITH(make_type_policy("q7_k"), Catch::Contains("Q4_K_M"));
}

TEST_CASE("llama.cpp presets: per-tensor choices for deepseek2", "[quantize]") {
    const auto q2 = make_type_policy("Q2_K");
    CHECK(q2->file_type() == 10);
    CHECK(pick(*q2, "blk.5.ffn_up_exps.weight", kWide, 3) == GgmlType::Q2_K);
    CHECK(pick(*q2, "blk.5.ffn_down_exps.weight", kWide, 3) == GgmlType::Q3_K);
    CHECK(pick(*q2, "blk.5.ffn_down_shexp.weight", kWide) == GgmlType::Q3_K);
    CHECK(pick(*q2, "blk.5.attn_output.weight", kWide) == GgmlType::Q3_K);
    CHECK(pick(*q2, "output.weight", kWide) == GgmlType::Q6_K);
    CHECK(pick(*q2, "token_embd.weight", kWide) == GgmlType::Q2_K);
    // Lower case q2_k is the single type.
    CHECK(pick(*make_type_policy("q2_k"), "output.weight", kWide) == GgmlType::Q2_K);

    const auto q4m = make_type_policy("q4_k_m");  // case-insensitive where no single type clashes
    CHECK(q4m->file_type() == 15);
    // use_more_bits over 61 layers: the first and last 7, and every third in between.
    CHECK(pick(*q4m, "blk.0.ffn_down_exps.weight", kWide, 3) == GgmlType::Q6_K);
    CHECK(pick(*q4m, "blk.8.ffn_down_exps.weight", kWide, 3) == GgmlType::Q4_K);
    CHECK(pick(*q4m, "blk.9.ffn_down_exps.weight", kWide, 3) == GgmlType::Q6_K);
    CHECK(pick(*q4m, "blk.60.ffn_down_exps.weight", kWide, 3) == GgmlType::Q6_K);
    CHECK(pick(*q4m, "blk.8.ffn_gate_exps.weight", kWide, 3) == GgmlType::Q4_K);
    CHECK(pick(*q4m, "blk.8.attn_output.weight", kWide) == GgmlType::Q4_K);

    const auto q3m = make_type_policy("Q3_K_M");
    CHECK(pick(*q3m, "blk.2.ffn_down.weight", kWide) == GgmlType::Q5_K);  // i < 61/16
    CHECK(pick(*q3m, "blk.4.ffn_down_exps.weight", kWide, 3) == GgmlType::Q4_K);
    CHECK(pick(*q3m, "blk.4.attn_output.weight", kWide) == GgmlType::Q4_K);
    CHECK(pick(*q3m, "blk.4.attn_q_b.weight", kWide) == GgmlType::Q3_K);
}

TEST_CASE("MoE presets choose routed experts separately", "[quantize]") {
    const auto m2 = make_type_policy("moe_q2_k");
    CHECK(pick(*m2, "blk.5.ffn_gate_exps.weight", kWide, 3) == GgmlType::Q2_K);
    CHECK(pick(*m2, "blk.5.ffn_up_exps.weight", kWide, 3) == GgmlType::Q2_K);
    CHECK(pick(*m2, "blk.5.ffn_down_exps.weight", kWide, 3) == GgmlType::Q3_K);
    CHECK(pick(*m2, "blk.5.ffn_down_shexp.weight", kWide) == GgmlType::Q6_K);
    CHECK(pick(*m2, "blk.0.ffn_up.weight", kWide) == GgmlType::Q6_K);
    CHECK(pick(*m2, "blk.5.attn_kv_a_mqa.weight", kWide) == GgmlType::Q6_K);
    CHECK(pick(*m2, "token_embd.weight", kWide) == GgmlType::Q6_K);
    CHECK(pick(*m2, "output.weight", kWide) == GgmlType::Q6_K);
    CHECK(pick(*m2, "blk.5.attn_k_b.weight", kNarrow) == GgmlType::Q8_0);  // Q6_K's fallback
    const auto m4 = make_type_policy("MOE_Q4_K");
    CHECK(pick(*m4, "blk.5.ffn_up_exps.weight", kWide, 3) == GgmlType::Q4_K);
    CHECK(pick(*m4, "blk.5.ffn_down_exps.weight", kWide, 3) == GgmlType::Q5_K);
    CHECK(pick(*m4, "blk.5.attn_output.weight", kWide) == GgmlType::Q8_0);
}

TEST_CASE("--tensor-type overrides: regex, first match, F32 kept, errors", "[quantize]") {
    std::vector<TypeOverride> o;
    o.push_back(parse_type_override("ffn_down_exps=q5_k"));
    o.push_back(parse_type_override("blk\\.[0-2]\\..*_exps=q8_0"));
    o.push_back(parse_type_override("norm=q4_0"));
    OverridePolicy p(make_type_policy("MOE_Q2_K"), std::move(o));
    CHECK(pick(p, "blk.1.ffn_down_exps.weight", kWide, 3) == GgmlType::Q5_K);
    CHECK(pick(p, "blk.1.ffn_up_exps.weight", kWide, 3) == GgmlType::Q8_0);
    CHECK(pick(p, "blk.7.ffn_up_exps.weight", kWide, 3) == GgmlType::Q2_K);
    CHECK(pick(p, "blk.7.attn_norm.weight", kWide, 1) == GgmlType::F32);
    CHECK(p.file_type() == 10);
    CHECK_THROWS_WITH(parse_type_override("ffn_down"), Catch::Contains("PATTERN=TYPE"));
    CHECK_THROWS_WITH(parse_type_override("ffn_down=q9_k"), Catch::Contains("q9_k"));
    CHECK_THROWS_WITH(parse_type_override("ffn_(down=q4_k"), Catch::Contains("regular expression"));
}

TEST_CASE("dry run: plan of the tiny model, nothing written", "[quantize]") {
    const std::string out = test::scratch_file("dry.gguf");
    std::FILE* log = std::tmpfile();
    ConvertOptions o;
    o.input_dir = test::data_dir() + "/tiny-ds3";
    o.output_path = out;
    o.dry_run = true;
    o.log = log;
    const ConvertResult r = convert_hf_to_gguf(o, *make_type_policy("Q4_K_M"));
    CHECK_FALSE(std::filesystem::exists(out));
    CHECK(r.n_bytes > 0);
    std::rewind(log);
    std::string text;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, log)) text.append(buf, n);
    std::fclose(log);
    CHECK_THAT(text, Catch::Contains("blk.2.ffn_down_exps.weight") && Catch::Contains("q6_K") &&
                         Catch::Contains("fallback: rows of 128") && Catch::Contains("routed experts") &&
                         Catch::Contains("total"));
}
