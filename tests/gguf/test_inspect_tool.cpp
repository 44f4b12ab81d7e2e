// Runs the moe-inspect executable on a small file written by the GGUF writer and on a bad file.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "lib/src/gguf.h"
#include "tests/gguf/gguf_test_util.h"

using namespace moecpu::gguf;

namespace {

struct RunResult {
    int exit_code = -1;
    std::string out, err;
};

// Runs the tool with stdout and stderr captured in files of `dir`.
RunResult run_tool(const moecpu::test::TempDir& dir, const std::string& args) {
    const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
    const std::string cmd = std::string(MOECPU_INSPECT_EMULATOR) + " '" + MOECPU_INSPECT_TOOL + "' " + args + " >'" +
                            out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    const auto o = moecpu::test::read_file_bytes(out), e = moecpu::test::read_file_bytes(err);
    r.out.assign(o.begin(), o.end());
    r.err.assign(e.begin(), e.end());
    return r;
}

void write_small_model(const std::string& path) {
    Writer w(path);
    w.set("general.architecture", Value::make_string("deepseek2"));
    w.set("deepseek2.block_count", Value::make_u32(2));
    std::vector<std::string> tokens;
    for (int k = 0; k < 100; ++k) tokens.push_back("tok" + std::to_string(k));
    w.set("tokenizer.ggml.tokens", Value::make_string_array(tokens));
    w.set("bad.utf8", Value::make_string("\xff\xfe"));
    const int64_t emb[2] = {32, 4}, q[2] = {256, 2};
    w.add_tensor("token_embd.weight", moecpu::GgmlType::F32, 2, emb);
    w.add_tensor("blk.0.ffn_down.weight", moecpu::GgmlType::Q4_K, 2, q);
    std::vector<uint8_t> zeros(4096);
    w.write_tensor_data(zeros.data(), w.tensor_bytes("token_embd.weight"));
    w.write_tensor_data(zeros.data(), w.tensor_bytes("blk.0.ffn_down.weight"));
    w.finish();
}

}  // namespace

TEST_CASE("moe-inspect text report", "[inspect]") {
    moecpu::test::TempDir dir;
    const std::string path = dir.file("small.gguf");
    write_small_model(path);
    const RunResult r = run_tool(dir, "'" + path + "'");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("version:     3"));
    CHECK_THAT(r.out, Catch::Contains("general.architecture"));
    CHECK_THAT(r.out, Catch::Contains("\"deepseek2\""));
    CHECK_THAT(r.out, Catch::Contains("arr[str,100]"));
    CHECK_THAT(r.out, Catch::Contains("... 92 more"));
    CHECK_THAT(r.out, Catch::Contains("blk.0.ffn_down.weight"));
    CHECK_THAT(r.out, Catch::Contains("q4_K"));
    CHECK_THAT(r.out, Catch::Contains("[256, 2]"));
    CHECK_THAT(r.out, Catch::Contains("totals by type"));
}

TEST_CASE("moe-inspect JSON report", "[inspect]") {
    moecpu::test::TempDir dir;
    const std::string path = dir.file("small.gguf");
    write_small_model(path);
    const RunResult r = run_tool(dir, "--json --max-array 3 '" + path + "'");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const nlohmann::json j = nlohmann::json::parse(r.out);
    CHECK(j["version"] == 3);
    CHECK(j["tensor_count"] == 2);
    CHECK(j["kv_count"] == 4);
    CHECK(j["metadata"][0]["value"] == "deepseek2");
    CHECK(j["metadata"][2]["value"]["length"] == 100);
    CHECK(j["metadata"][2]["value"]["values"].size() == 3);
    CHECK(j["tensors"][1]["type"] == "q4_K");
    CHECK(j["tensors"][1]["bytes"] == 288);
    CHECK(j["totals"]["bytes"] == 32 * 4 * 4 + 288);
    CHECK(j["totals"]["by_type"].size() == 2);
    CHECK_FALSE(j.contains("cpu"));
}

TEST_CASE("moe-inspect --cpu", "[inspect]") {
    moecpu::test::TempDir dir;
    RunResult r = run_tool(dir, "--cpu");
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("kernel table active"));
    r = run_tool(dir, "--cpu --json");
    REQUIRE(r.exit_code == 0);
    const nlohmann::json j = nlohmann::json::parse(r.out);
    CHECK(j["cpu"]["active"].is_string());
    CHECK(j["cpu"]["kernel_tables"].size() >= 1);
}

TEST_CASE("moe-inspect on bad input names the file and fails", "[inspect]") {
    moecpu::test::TempDir dir;
    const std::string bad = dir.file("not-a-model.gguf");
    moecpu::test::write_file_bytes(bad, {'h', 'e', 'l', 'l', 'o', '\n'});
    RunResult r = run_tool(dir, "'" + bad + "'");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(bad) && Catch::Contains("not a GGUF file"));

    r = run_tool(dir, "'" + dir.file("missing.gguf") + "'");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("missing.gguf"));

    r = run_tool(dir, "--help");
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("--json"));
}
