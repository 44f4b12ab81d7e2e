// Bad inputs fail with a message naming the file and the problem, and leave no output behind
// (an existing output file is left untouched).
#include <catch2/catch.hpp>

#include <filesystem>

#include "convert_test_util.h"
#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/tensor_type_policy.h"
#include "lib/src/error.h"
#include "synthetic_checkpoint.h"

using namespace moecpu;
using namespace moecpu::test;
namespace fs = std::filesystem;

namespace {

// Runs a conversion of `in` that must fail with a message containing every string of `what`;
// checks the scratch directory holds no GGUF or temporary file afterwards.
void expect_failure(const ScratchDir& out_dir, const std::string& in, std::vector<std::string> what) {
    convert::ConvertOptions o;
    o.input_dir = in;
    o.output_path = out_dir.file("out.gguf");
    o.log = nullptr;
    try {
        convert::convert_hf_to_gguf(o, *convert::make_type_policy("f32"));
        FAIL("conversion of " << in << " succeeded");
    } catch (const Error& e) {
        INFO(e.what());
        for (const std::string& w : what) CHECK(std::string(e.what()).find(w) != std::string::npos);
    }
    for (const auto& entry : fs::directory_iterator(out_dir.path())) {
        INFO(entry.path());
        CHECK(entry.path().filename().string().find("out.gguf") == std::string::npos);
    }
}

// tiny-ds3 with an edited config.json (the weights linked, not copied).
void tiny_with_config(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
    const std::string src = data_dir() + "/tiny-ds3";
    auto config = nlohmann::json::parse(read_text(src + "/config.json"));
    edit(config);
    write_text(dir + "/config.json", config.dump());
    for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
        fs::create_symlink(fs::absolute(src + "/" + f), dir + "/" + f);
    }
}

}  // namespace

TEST_CASE("convert errors: missing shard", "[convert][errors]") {
    ScratchDir in, out;
    write_synthetic_v2(in.path().string(), SyntheticV2::config());
    fs::remove(in.file("model-00002-of-00002.safetensors"));
    expect_failure(out, in.path().string(), {"model-00002-of-00002.safetensors", "missing"});
}

TEST_CASE("convert errors: a tensor shape disagrees with config.json", "[convert][errors]") {
    ScratchDir in, out;
    auto config = SyntheticV2::config();
    config["v_head_dim"] = 8;  // kv_b_proj and o_proj no longer fit
    write_synthetic_v2(in.path().string(), config);
    expect_failure(out, in.path().string(), {"kv_b_proj", "has shape", "config.json"});
}

TEST_CASE("convert errors: unsupported architecture", "[convert][errors]") {
    ScratchDir in, out;
    tiny_with_config(in.path().string(), [](nlohmann::json& c) { c["architectures"] = {"LlamaForCausalLM"}; });
    expect_failure(out, in.path().string(), {"config.json", "LlamaForCausalLM", "not supported"});
}

TEST_CASE("convert errors: a missing config key", "[convert][errors]") {
    ScratchDir in, out;
    tiny_with_config(in.path().string(), [](nlohmann::json& c) { c.erase("kv_lora_rank"); });
    expect_failure(out, in.path().string(), {"config.json", "kv_lora_rank"});
}

TEST_CASE("convert errors: an unrecognised pre-tokenizer", "[convert][errors]") {
    ScratchDir in, out;
    write_synthetic_v2(in.path().string(), SyntheticV2::config());
    auto tok = nlohmann::json::parse(read_text(in.file("tokenizer.json")));
    tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\d+";
    write_text(in.file("tokenizer.json"), tok.dump());
    expect_failure(out, in.path().string(), {"tokenizer.json", "--tokenizer-pre"});
}

TEST_CASE("convert errors: an unexpected tensor in the checkpoint", "[convert][errors]") {
    ScratchDir in, out;
    write_synthetic_v2(in.path().string(), SyntheticV2::config());
    write_file(in.file("extra.safetensors"),
               build_safetensors({{"model.layers.0.mystery.weight", "F32", {2}, as_bytes(std::vector<float>{1, 2})}}));
    auto index = nlohmann::json::parse(read_text(in.file("model.safetensors.index.json")));
    index["weight_map"]["model.layers.0.mystery.weight"] = "extra.safetensors";
    write_text(in.file("model.safetensors.index.json"), index.dump());
    expect_failure(out, in.path().string(), {"mystery", "extra.safetensors"});
}

TEST_CASE("convert errors: a corrupt shard header; an existing output survives", "[convert][errors]") {
    ScratchDir in, out;
    write_synthetic_v2(in.path().string(), SyntheticV2::config());
    write_file(in.file("model-00001-of-00002.safetensors"), raw_safetensors("{\"x\": 1}", 0));
    convert::ConvertOptions o;
    o.input_dir = in.path().string();
    o.output_path = out.file("keep.gguf");
    o.log = nullptr;
    write_text(o.output_path, "previous contents");
    CHECK_THROWS_WITH(convert::convert_hf_to_gguf(o, *convert::make_type_policy("f32")),
                      Catch::Contains("model-00001-of-00002.safetensors"));
    CHECK(read_text(o.output_path) == "previous contents");
    CHECK(std::distance(fs::directory_iterator(out.path()), fs::directory_iterator()) == 1);
}
