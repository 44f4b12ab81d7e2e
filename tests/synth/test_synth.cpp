// moe-synth writes deepseek2 GGUF files that moecpu loads, with the requested shapes, and whose
// random weights keep activations finite.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "examples/synth/synth_writer.h"
#include "lib/src/gguf.h"
#include "moecpu.h"

using namespace moecpu;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() / ("moecpu-synth-" + std::to_string(::getpid()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

synth::SynthSpec small_spec(const std::string& arch, GgmlType type, std::vector<std::string>& notes) {
    synth::SynthSpec s = synth::preset(arch);
    s.type = type;
    synth::SynthOverrides o;
    o.n_layer = 3;
    o.n_leading_dense = 1;
    o.n_expert = 16;
    o.n_embd = 256;
    o.n_ff_exp = 256;
    o.n_ff = 512;
    o.n_vocab = 320;
    o.n_head = 4;
    synth::apply_overrides(s, o, notes);
    return s;
}

}  // namespace

TEST_CASE("presets carry the published hyper-parameters", "[synth]") {
    const synth::SynthSpec v3 = synth::preset("deepseek-v3");
    CHECK(v3.n_embd == 7168);
    CHECK(v3.n_expert == 256);
    CHECK(v3.n_expert_used == 8);
    CHECK(v3.n_leading_dense == 3);
    CHECK(v3.n_layer == 61);
    CHECK(synth::preset("deepseek-v2-lite").q_lora_rank == 0);
    CHECK(synth::preset("kimi-k2").n_expert == 384);
    CHECK_THROWS(synth::preset("gpt-2"));
}

TEST_CASE("overrides repair expert groups and dense layers", "[synth]") {
    synth::SynthSpec s = synth::preset("deepseek-v3");
    synth::SynthOverrides o;
    o.n_layer = 2;
    o.n_expert = 8;
    std::vector<std::string> notes;
    synth::apply_overrides(s, o, notes);
    CHECK(s.n_leading_dense == 2);  // 3 dense layers do not fit in 2
    CHECK(s.n_expert % s.n_group == 0);
    CHECK(s.n_expert_used <= s.n_group_used * (s.n_expert / s.n_group));
    CHECK(notes.size() == 2);
}

TEST_CASE("synthetic models of every preset load and give finite logits", "[synth]") {
    TempDir dir;
    for (const std::string& arch : synth::preset_names()) {
        for (GgmlType type : {GgmlType::Q2_K, GgmlType::Q4_0}) {
            DYNAMIC_SECTION(arch << " " << int(type)) {
                std::vector<std::string> notes;
                const synth::SynthSpec spec = small_spec(arch, type, notes);
                const std::string path = (dir.path / (arch + ".gguf")).string();
                const synth::SynthSummary sum = synth::write_synth_model(spec, path);
                CHECK(sum.file_bytes == std::filesystem::file_size(path));
                CHECK(sum.expert_bytes > 0);

                auto reader = gguf::Reader::open(path);
                CHECK(reader->get_string("general.architecture") == "deepseek2");
                const gguf::TensorInfo* exps = reader->find_tensor("blk.2.ffn_down_exps.weight");
                REQUIRE(exps != nullptr);
                CHECK(exps->type == type);
                CHECK(exps->ne[2] == 16);
                CHECK(reader->find_tensor("blk.0.ffn_gate.weight") != nullptr);  // leading dense layer
                CHECK(reader->find_tensor("blk.0.ffn_gate_inp.weight") == nullptr);
                CHECK(reader->find_tensor("blk.2.ffn_gate_inp.weight")->type == GgmlType::F32);

                moecpu_model* m = nullptr;
                REQUIRE(moecpu_model_load(path.c_str(), moecpu_model_default_params(), &m) == MOECPU_OK);
                CHECK(moecpu_model_n_vocab(m) == 320);
                moecpu_context_params cp = moecpu_context_default_params();
                cp.n_ctx = 32;
                cp.n_threads = 2;
                moecpu_context* c = nullptr;
                REQUIRE(moecpu_context_create(m, cp, &c) == MOECPU_OK);
                size_t n = 0;
                int32_t toks[16];
                REQUIRE(moecpu_tokenize(m, "Hi there", 8, 1, 1, toks, 16, &n) == MOECPU_OK);
                CHECK(n == 9);  // BOS + one token per byte
                REQUIRE(moecpu_eval(c, toks, n) == MOECPU_OK);
                const float* logits = moecpu_get_logits(c, -1);
                REQUIRE(logits != nullptr);
                bool finite = true;
                float max_abs = 0.0f;
                for (int i = 0; i < 320; ++i) {
                    finite = finite && std::isfinite(logits[i]);
                    max_abs = std::max(max_abs, std::fabs(logits[i]));
                }
                CHECK(finite);
                CHECK(max_abs > 0.0f);
                CHECK(max_abs < 1e4f);
                moecpu_context_free(c);
                moecpu_model_free(m);
            }
        }
    }
}
