// The tiny DeepSeek-V3 fixtures converted to GGUF and read back with gguf::Reader.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "convert_test_util.h"
#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/tensor_type_policy.h"
#include "examples/quantize/tokenizer_gguf.h"
#include "lib/src/gguf.h"
#include "quant/fp16.h"
#include "quant/fp8.h"
#include "quant/safetensors.h"

using namespace moecpu;
using namespace moecpu::test;

namespace {

// One conversion per fixture and type, shared by the test cases below.
struct Converted {
    ScratchDir dir;
    std::unique_ptr<gguf::Reader> reader;
    std::unique_ptr<safetensors::Checkpoint> source;
};

Converted& converted(const std::string& fixture, const std::string& type) {
    static std::map<std::string, std::unique_ptr<Converted>> cache;
    auto& slot = cache[fixture + "/" + type];
    if (!slot) {
        slot = std::make_unique<Converted>();
        convert::ConvertOptions o;
        o.input_dir = data_dir() + "/" + fixture;
        o.output_path = slot->dir.file("out.gguf");
        o.log = nullptr;
        convert::convert_hf_to_gguf(o, *convert::make_type_policy(type));
        slot->reader = gguf::Reader::open(o.output_path);
        slot->source = safetensors::Checkpoint::open_directory(o.input_dir);
    }
    return *slot;
}

const float* f32_data(const gguf::TensorInfo& t) {
    REQUIRE(t.type == GgmlType::F32);
    return reinterpret_cast<const float*>(t.data);
}

// Source tensor element [r][c] (2-D, BF16 or F32 in the fixture) as float.
float source_at(const safetensors::TensorInfo& t, int64_t r, int64_t c) {
    const int64_t i = r * t.shape.back() + c;
    if (t.dtype == safetensors::DType::F32) {
        float v;
        std::memcpy(&v, t.data + 4 * i, 4);
        return v;
    }
    REQUIRE(t.dtype == safetensors::DType::BF16);
    uint16_t h;
    std::memcpy(&h, t.data + 2 * i, 2);
    return bf16_to_fp32(h);
}

std::vector<int64_t> ne_of(const gguf::TensorInfo& t) { return std::vector<int64_t>(t.ne, t.ne + t.n_dims); }

}  // namespace

TEST_CASE("convert tiny-ds3: deepseek2 keys", "[convert]") {
    const gguf::Reader& g = *converted("tiny-ds3", "f32").reader;
    CHECK(g.get_string("general.architecture") == "deepseek2");
    CHECK(g.get_string("general.type") == "model");
    CHECK(g.get_string("general.name") == "tiny-ds3");
    CHECK(g.get_u64("general.file_type", 99) == 0);
    CHECK(g.get_u64("general.quantization_version", 0) == 2);
    CHECK(g.get_string("general.size_label").find("16x") == 0);

    const std::pair<const char*, uint64_t> u32_keys[] = {
        {"block_count", 4},
        {"context_length", 163840},
        {"embedding_length", 256},
        {"feed_forward_length", 512},
        {"attention.head_count", 4},
        {"attention.head_count_kv", 1},
        {"expert_count", 16},
        {"expert_used_count", 4},
        {"expert_group_count", 4},
        {"expert_group_used_count", 2},
        {"expert_gating_func", 2},
        {"leading_dense_block_count", 1},
        {"vocab_size", 1024},
        {"attention.q_lora_rank", 128},
        {"attention.kv_lora_rank", 128},
        {"attention.key_length", 144},
        {"attention.value_length", 128},
        {"attention.key_length_mla", 48},
        {"attention.value_length_mla", 32},
        {"expert_feed_forward_length", 256},
        {"expert_shared_count", 1},
        {"rope.dimension_count", 16},
        {"rope.scaling.original_context_length", 4096},
    };
    for (const auto& [key, value] : u32_keys) {
        const std::string k = std::string("deepseek2.") + key;
        INFO(k);
        const gguf::Value* v = g.find(k);
        REQUIRE(v != nullptr);
        CHECK(v->type == gguf::ValueType::UINT32);
        CHECK(v->u == value);
    }
    const std::pair<const char*, double> f32_keys[] = {
        {"rope.freq_base", 10000.0},
        {"attention.layer_norm_rms_epsilon", 1e-6},
        {"expert_weights_scale", 2.5},
        {"rope.scaling.factor", 40.0},
        {"rope.scaling.yarn_beta_fast", 32.0},
        {"rope.scaling.yarn_beta_slow", 1.0},
        {"rope.scaling.yarn_log_multiplier", 0.1},
    };
    for (const auto& [key, value] : f32_keys) {
        const std::string k = std::string("deepseek2.") + key;
        INFO(k);
        const gguf::Value* v = g.find(k);
        REQUIRE(v != nullptr);
        CHECK(v->type == gguf::ValueType::FLOAT32);
        CHECK(v->f == static_cast<double>(static_cast<float>(value)));
    }
    CHECK(g.get_string("deepseek2.rope.scaling.type") == "yarn");
    CHECK(g.get_bool("deepseek2.expert_weights_norm", false));
}

TEST_CASE("convert tiny-ds3: tensor names, shapes and types", "[convert]") {
    const gguf::Reader& g = *converted("tiny-ds3", "f32").reader;
    CHECK(g.tensors().size() == 70);
    using S = std::vector<int64_t>;
    const std::pair<std::string, S> expected[] = {
        {"token_embd.weight", {256, 1024}},
        {"output_norm.weight", {256}},
        {"output.weight", {256, 1024}},
        {"blk.0.attn_norm.weight", {256}},
        {"blk.0.attn_q_a.weight", {256, 128}},
        {"blk.0.attn_q_a_norm.weight", {128}},
        {"blk.0.attn_q_b.weight", {128, 192}},
        {"blk.0.attn_kv_a_mqa.weight", {256, 144}},
        {"blk.0.attn_kv_a_norm.weight", {128}},
        {"blk.0.attn_k_b.weight", {32, 128, 4}},
        {"blk.0.attn_v_b.weight", {128, 32, 4}},
        {"blk.0.attn_output.weight", {128, 256}},
        {"blk.0.ffn_norm.weight", {256}},
        {"blk.0.ffn_gate.weight", {256, 512}},
        {"blk.0.ffn_up.weight", {256, 512}},
        {"blk.0.ffn_down.weight", {512, 256}},
        {"blk.3.ffn_gate_inp.weight", {256, 16}},
        {"blk.3.exp_probs_b.bias", {16}},
        {"blk.3.ffn_gate_exps.weight", {256, 256, 16}},
        {"blk.3.ffn_up_exps.weight", {256, 256, 16}},
        {"blk.3.ffn_down_exps.weight", {256, 256, 16}},
        {"blk.3.ffn_gate_shexp.weight", {256, 256}},
        {"blk.3.ffn_up_shexp.weight", {256, 256}},
        {"blk.3.ffn_down_shexp.weight", {256, 256}},
    };
    for (const auto& [name, ne] : expected) {
        INFO(name);
        const gguf::TensorInfo* t = g.find_tensor(name);
        REQUIRE(t != nullptr);
        CHECK(ne_of(*t) == ne);
        CHECK(t->type == GgmlType::F32);
    }
    CHECK(g.find_tensor("blk.0.ffn_gate_inp.weight") == nullptr);  // dense layer
    CHECK(g.find_tensor("blk.1.attn_kv_b.weight") == nullptr);      // split layout only, as llama.cpp
    CHECK(g.find_tensor("blk.1.attn_q.weight") == nullptr);
}

TEST_CASE("convert tiny-ds3: values equal the BF16 source exactly", "[convert]") {
    Converted& cv = converted("tiny-ds3", "f32");
    const gguf::Reader& g = *cv.reader;
    const safetensors::Checkpoint& src = *cv.source;

    SECTION("plain copies") {
        for (auto [gguf_name, hf_name] : {std::pair{"token_embd.weight", "model.embed_tokens.weight"},
                                          std::pair{"blk.2.attn_q_b.weight", "model.layers.2.self_attn.q_b_proj.weight"},
                                          std::pair{"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"},
                                          std::pair{"blk.1.ffn_gate_inp.weight", "model.layers.1.mlp.gate.weight"},
                                          std::pair{"blk.3.attn_kv_a_norm.weight", "model.layers.3.self_attn.kv_a_layernorm.weight"}}) {
            INFO(gguf_name);
            const auto& s = src.get(hf_name);
            const float* d = f32_data(*g.find_tensor(gguf_name));
            const int64_t rows = s.row_count(), cols = s.row_length();
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) REQUIRE(d[r * cols + c] == source_at(s, r, c));
        }
    }
    SECTION("router bias (F32 source)") {
        const auto& s = src.get("model.layers.2.mlp.gate.e_score_correction_bias");
        const float* d = f32_data(*g.find_tensor("blk.2.exp_probs_b.bias"));
        for (int64_t i = 0; i < 16; ++i) REQUIRE(d[i] == source_at(s, 0, i));
    }
    SECTION("merged experts: slice e is expert e") {
        for (int e : {0, 5, 15}) {
            const auto& s = src.get("model.layers.2.mlp.experts." + std::to_string(e) + ".up_proj.weight");
            const float* d = f32_data(*g.find_tensor("blk.2.ffn_up_exps.weight")) + e * 256 * 256;
            for (int64_t r = 0; r < 256; ++r)
                for (int64_t c = 0; c < 256; ++c) REQUIRE(d[r * 256 + c] == source_at(s, r, c));
        }
        const auto& s = src.get("model.layers.1.mlp.experts.9.down_proj.weight");
        const float* d = f32_data(*g.find_tensor("blk.1.ffn_down_exps.weight")) + 9 * 256 * 256;
        for (int64_t r = 0; r < 256; ++r) REQUIRE(d[r * 256 + 17] == source_at(s, r, 17));
    }
    SECTION("k_b is kv_b's nope part transposed per head, v_b its v part") {
        const auto& kvb = src.get("model.layers.1.self_attn.kv_b_proj.weight");  // [4 * (32 + 32), 128]
        const float* kb = f32_data(*g.find_tensor("blk.1.attn_k_b.weight"));     // ne [32, 128, 4]
        const float* vb = f32_data(*g.find_tensor("blk.1.attn_v_b.weight"));     // ne [128, 32, 4]
        for (int64_t h = 0; h < 4; ++h) {
            for (int64_t c = 0; c < 128; ++c)
                for (int64_t k = 0; k < 32; ++k) REQUIRE(kb[(h * 128 + c) * 32 + k] == source_at(kvb, h * 64 + k, c));
            for (int64_t j = 0; j < 32; ++j)
                for (int64_t c = 0; c < 128; ++c) REQUIRE(vb[(h * 32 + j) * 128 + c] == source_at(kvb, h * 64 + 32 + j, c));
        }
    }
}

TEST_CASE("convert tiny-ds3: tokenizer keys", "[convert][tokenizer]") {
    const gguf::Reader& g = *converted("tiny-ds3", "f32").reader;
    CHECK(g.get_string("tokenizer.ggml.model") == "gpt2");
    CHECK(g.get_string("tokenizer.ggml.pre") == "deepseek-v3");
    const gguf::Value* tokens = g.find("tokenizer.ggml.tokens");
    const gguf::Value* types = g.find("tokenizer.ggml.token_type");
    const gguf::Value* merges = g.find("tokenizer.ggml.merges");
    REQUIRE(tokens != nullptr);
    REQUIRE(types != nullptr);
    REQUIRE(merges != nullptr);
    REQUIRE(tokens->array.size() == 1024);
    REQUIRE(types->array.size() == 1024);
    CHECK(types->array_type == gguf::ValueType::INT32);
    CHECK(merges->array.size() == 752);
    CHECK(merges->array[0].str == "\xc4\xa0 t");  // "Ġ t"
    CHECK(tokens->array[0].str == "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
    CHECK(tokens->array[3 + 'A'].str == "A");
    CHECK(tokens->array[1011].str == "<think>");
    const std::pair<int, int32_t> type_of[] = {{0, 3}, {1, 3}, {2, 3}, {3, 1}, {300, 1}, {1010, 1},
                                               {1011, 4}, {1012, 4}, {1013, 3}, {1014, 3}, {1023, 3}};
    for (auto [id, type] : type_of) {
        INFO("token " << id);
        CHECK(types->array[id].i == type);
    }
    CHECK(g.get_u64("tokenizer.ggml.bos_token_id", 99) == 0);
    CHECK(g.get_u64("tokenizer.ggml.eos_token_id", 99) == 1);
    CHECK(g.get_u64("tokenizer.ggml.padding_token_id", 99) == 1);
    CHECK_FALSE(g.has("tokenizer.ggml.unknown_token_id"));
    CHECK(g.get_bool("tokenizer.ggml.add_bos_token", false));
    CHECK_FALSE(g.get_bool("tokenizer.ggml.add_eos_token", true));
    const std::string tmpl = g.get_string("tokenizer.chat_template");
    CHECK(tmpl.find("<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><think>\\n") != std::string::npos);
    CHECK(tmpl.size() > 2000);
}

TEST_CASE("convert tiny-ds3-fp8: FP8 tensors become float(fp8) * scale", "[convert][fp8]") {
    Converted& cv = converted("tiny-ds3-fp8", "f32");
    const gguf::Reader& g = *cv.reader;
    const safetensors::Checkpoint& src = *cv.source;
    CHECK(g.tensors().size() == 70);
    CHECK(g.find_tensor("blk.1.attn_kv_a_mqa.weight_scale_inv") == nullptr);

    const auto dequant = [&](const std::string& name, int64_t r, int64_t c) {
        const auto& w = src.get(name);
        const auto& s = src.get(name + "_scale_inv");
        const float* scale = reinterpret_cast<const float*>(s.data);
        return fp8_e4m3_to_fp32(w.data[r * w.shape[1] + c]) * scale[(r / 128) * s.shape[1] + c / 128];
    };
    const float* kva = f32_data(*g.find_tensor("blk.1.attn_kv_a_mqa.weight"));  // 144 rows: a partial block
    for (int64_t r = 0; r < 144; ++r)
        for (int64_t c = 0; c < 256; ++c) REQUIRE(kva[r * 256 + c] == dequant("model.layers.1.self_attn.kv_a_proj_with_mqa.weight", r, c));
    const float* gate = f32_data(*g.find_tensor("blk.3.ffn_gate_exps.weight")) + 7 * 256 * 256;
    for (int64_t r = 0; r < 256; r += 3)
        for (int64_t c = 0; c < 256; ++c) REQUIRE(gate[r * 256 + c] == dequant("model.layers.3.mlp.experts.7.gate_proj.weight", r, c));
    const float* kb = f32_data(*g.find_tensor("blk.2.attn_k_b.weight"));
    for (int64_t h = 0; h < 4; ++h)
        for (int64_t c = 0; c < 128; ++c)
            for (int64_t k = 0; k < 32; ++k)
                REQUIRE(kb[(h * 128 + c) * 32 + k] == dequant("model.layers.2.self_attn.kv_b_proj.weight", h * 64 + k, c));
}

TEST_CASE("convert tiny-ds3 to q8_0: llama.cpp's F32 exceptions", "[convert]") {
    const gguf::Reader& g = *converted("tiny-ds3", "q8_0").reader;
    CHECK(g.get_u64("general.file_type", 99) == 7);
    for (const gguf::TensorInfo& t : g.tensors()) {
        INFO(t.name);
        const bool keep_f32 = t.n_dims == 1 || t.name.find("_norm.") != std::string::npos ||
                              t.name.find("ffn_gate_inp") != std::string::npos || t.name.find(".bias") != std::string::npos;
        CHECK(t.type == (keep_f32 ? GgmlType::F32 : GgmlType::Q8_0));
    }
    // Row length 32 (k_b) is still a whole Q8_0 block.
    CHECK(g.find_tensor("blk.0.attn_k_b.weight")->type == GgmlType::Q8_0);
}

TEST_CASE("type policy: names, file types and fallbacks", "[convert]") {
    using convert::make_type_policy;
    CHECK(make_type_policy("F16")->file_type() == 1);
    CHECK(make_type_policy("bf16")->file_type() == 32);
    CHECK(make_type_policy("q8_0")->file_type() == 7);
    CHECK(make_type_policy("q4_k")->file_type() == 15);
    CHECK_THROWS_WITH(make_type_policy("q7_k"), Catch::Contains("q7_k"));
    const int64_t odd[2] = {48, 4};
    const auto q8 = make_type_policy("q8_0");
    CHECK(convert::choose_tensor_type(*q8, {"blk.0.ffn_up.weight", 2, odd, false}).type == GgmlType::F16);
    CHECK(convert::choose_tensor_type(*q8, {"blk.0.ffn_up.weight", 2, odd, true}).type == GgmlType::F32);
    CHECK(convert::llama_cpp_keeps_f32("blk.1.exp_probs_b.bias", 1));
    CHECK(convert::llama_cpp_keeps_f32("blk.1.ffn_gate_inp.weight", 2));
    CHECK(convert::llama_cpp_keeps_f32("blk.1.attn_kv_a_norm.weight", 2));
    CHECK_FALSE(convert::llama_cpp_keeps_f32("blk.1.ffn_gate_exps.weight", 3));
}

TEST_CASE("pre-tokenizer recognition", "[convert][tokenizer]") {
    const auto tok = nlohmann::json::parse(read_text(data_dir() + "/tiny-ds3/tokenizer.json"));
    CHECK(convert::recognise_pre_tokenizer(tok["pre_tokenizer"]) == "deepseek-v3");
    auto changed = tok["pre_tokenizer"];
    changed["pretokenizers"][0]["pattern"]["Regex"] = "\\p{N}{1,4}";
    CHECK(convert::recognise_pre_tokenizer(changed) == "");
    const auto llm = nlohmann::json::parse(R"({"type":"Sequence","pretokenizers":[
        {"type":"Split","pattern":{"Regex":"[\r\n]"},"behavior":"Isolated","invert":false},
        {"type":"Split","pattern":{"Regex":"\\s?[A-Za-z]+"},"behavior":"Isolated","invert":false},
        {"type":"Split","pattern":{"Regex":"\\s?[!-/:-~]+"},"behavior":"Isolated","invert":false},
        {"type":"Split","pattern":{"Regex":"\\s+$"},"behavior":"Isolated","invert":false},
        {"type":"Split","pattern":{"Regex":"[一-龥]+"},"behavior":"Isolated","invert":false},
        {"type":"Split","pattern":{"Regex":"\\p{N}+"},"behavior":"Isolated","invert":false},
        {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]})");
    CHECK(convert::recognise_pre_tokenizer(llm) == "deepseek-llm");
    CHECK(convert::recognise_pre_tokenizer(nlohmann::json::parse(R"({"type":"ByteLevel","use_regex":true})")) == "");
}
