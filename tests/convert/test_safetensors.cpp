// safetensors reading: header validation, dtype conversion, shards, FP8 block dequantization.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include "convert_test_util.h"
#include "lib/src/error.h"
#include "quant/fp16.h"
#include "quant/fp8.h"
#include "quant/safetensors.h"

using namespace moecpu;
using namespace moecpu::test;
using safetensors::Checkpoint;
using safetensors::File;

namespace {

std::unique_ptr<File> parse(const std::vector<uint8_t>& bytes) {
    return File::from_memory(bytes.data(), bytes.size(), "mem.safetensors");
}

// Expects parsing `header` (with `data` bytes after it) to fail with a message containing `what`.
void expect_bad_header(const std::string& header, size_t data, const std::string& what) {
    const auto bytes = raw_safetensors(header, data);
    try {
        parse(bytes);
        FAIL("accepted: " << header);
    } catch (const Error& e) {
        INFO(e.what());
        CHECK(e.status() == MOECPU_ERR_BAD_FORMAT);
        CHECK(std::string(e.what()).find("mem.safetensors") != std::string::npos);
        CHECK(std::string(e.what()).find(what) != std::string::npos);
    }
}

}  // namespace

TEST_CASE("safetensors: a valid file parses and converts rows of each float dtype", "[safetensors]") {
    const std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -0.5f};
    std::vector<uint16_t> f16, bf16;
    for (float v : f32) f16.push_back(fp32_to_fp16(v)), bf16.push_back(fp32_to_bf16(v));
    const auto bytes = build_safetensors({{"a.f32", "F32", {2, 3}, as_bytes(f32)},
                                          {"b.f16", "F16", {3, 2}, as_bytes(f16)},
                                          {"c.bf16", "BF16", {6}, as_bytes(bf16)},
                                          {"d.i32", "I32", {2}, as_bytes(std::vector<int32_t>{1, 2})}});
    const auto file = parse(bytes);
    REQUIRE(file->tensors().size() == 4);
    REQUIRE(file->metadata().at("format") == "pt");
    const auto* b = file->find("b.f16");
    REQUIRE(b != nullptr);
    CHECK(b->dtype == safetensors::DType::F16);
    CHECK(b->row_length() == 2);
    CHECK(b->row_count() == 3);
    CHECK(file->find("nope") == nullptr);

    // Through a checkpoint on disk: row ranges and conversions.
    ScratchDir dir;
    write_file(dir.file("model.safetensors"), bytes);
    const auto ckpt = Checkpoint::open_directory(dir.path().string());
    std::vector<float> out(6);
    ckpt->read_rows_f32("a.f32", 1, 1, out.data());
    CHECK(out[0] == 0.0f);
    CHECK(out[2] == -0.5f);
    ckpt->read_rows_f32("b.f16", 0, 3, out.data());
    CHECK(out == f32);
    ckpt->read_rows_f32("c.bf16", 0, 1, out.data());
    CHECK(out == f32);
    CHECK_THROWS_WITH(ckpt->read_rows_f32("a.f32", 1, 2, out.data()), Catch::Contains("outside its 2 rows"));
    CHECK_THROWS_WITH(ckpt->read_rows_f32("d.i32", 0, 1, out.data()), Catch::Contains("I32"));
    CHECK_THROWS_WITH(ckpt->read_rows_f32("zzz", 0, 1, out.data()), Catch::Contains("'zzz'"));
}

TEST_CASE("safetensors: malformed headers are rejected with a message", "[safetensors]") {
    SECTION("too short") {
        const std::vector<uint8_t> tiny = {1, 2, 3};
        CHECK_THROWS_WITH(parse(tiny), Catch::Contains("too short"));
    }
    SECTION("header length past the end") {
        auto bytes = raw_safetensors("{}", 0);
        const uint64_t huge = 1000;
        std::memcpy(bytes.data(), &huge, 8);
        CHECK_THROWS_WITH(parse(bytes), Catch::Contains("exceeds the file size"));
    }
    SECTION("field problems") {
        expect_bad_header("{not json", 0, "not valid JSON");
        expect_bad_header("[1,2]", 0, "not a JSON object");
        expect_bad_header(R"({"t":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1, "unknown dtype 'Q4'");
        expect_bad_header(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4, "no string 'dtype'");
        expect_bad_header(R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", 4, "no array 'shape'");
        expect_bad_header(R"({"t":{"dtype":"F32","shape":[1]}})", 4, "data_offsets");
        expect_bad_header(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, "non-negative");
        expect_bad_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 8, "needs 8");
        expect_bad_header(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 8, "begin after they end");
        expect_bad_header(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, "past the data section");
        expect_bad_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          12, "overlap");
        expect_bad_header(R"({"__metadata__":{"k":1}})", 0, "not a string");
        expect_bad_header(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})", 4,
                          "too large");
    }
}

TEST_CASE("safetensors: FP8 weights are scaled per 128x128 block, partial blocks included", "[safetensors][fp8]") {
    const int64_t R = 130, C = 260;  // 2 x 3 blocks, the last row and column blocks partial
    std::mt19937 rng(7);
    std::vector<uint8_t> codes(static_cast<size_t>(R * C));
    for (auto& c : codes) {
        do c = static_cast<uint8_t>(rng() & 0xFF);
        while ((c & 0x7F) == 0x7F);  // no NaN codes
    }
    const std::vector<float> scales = {0.5f, 1.25f, 3.0e-3f, 7.0f, 0.125f, 2.0f};
    const auto bytes = build_safetensors({{"w.weight", "F8_E4M3", {R, C}, codes},
                                          {"w.weight_scale_inv", "F32", {2, 3}, as_bytes(scales)},
                                          {"bad.weight", "F8_E4M3", {R, C}, codes},
                                          {"bad.weight_scale_inv", "F32", {1, 3}, as_bytes(std::vector<float>{1, 1, 1})},
                                          {"lonely.weight", "F8_E4M3", {2, 2}, std::vector<uint8_t>{1, 2, 3, 4}}});
    ScratchDir dir;
    write_file(dir.file("model.safetensors"), bytes);
    const auto ckpt = Checkpoint::open_directory(dir.path().string());

    const int64_t begin = 120, count = 10;  // straddles the row-block boundary at 128
    std::vector<float> out(static_cast<size_t>(count * C));
    ckpt->read_rows_f32("w.weight", begin, count, out.data());
    for (int64_t r = 0; r < count; ++r) {
        for (int64_t c = 0; c < C; ++c) {
            const int64_t rr = begin + r;
            const float want = fp8_e4m3_to_fp32(codes[static_cast<size_t>(rr * C + c)]) * scales[static_cast<size_t>((rr / 128) * 3 + c / 128)];
            REQUIRE(out[static_cast<size_t>(r * C + c)] == want);
        }
    }
    CHECK_THROWS_WITH(ckpt->read_rows_f32("bad.weight", 0, 1, out.data()), Catch::Contains("expected [2, 3]"));
    CHECK_THROWS_WITH(ckpt->read_rows_f32("lonely.weight", 0, 1, out.data()), Catch::Contains("lonely.weight_scale_inv"));
    CHECK(Checkpoint::is_scale_tensor_name("w.weight_scale_inv"));
    CHECK_FALSE(Checkpoint::is_scale_tensor_name("w.weight"));
}

TEST_CASE("safetensors: FP8 fixture dequantizes as float(fp8) * scale_inv", "[safetensors][fp8]") {
    const std::string path = data_dir() + "/tiny-ds3-fp8/model.safetensors";
    const auto ckpt = Checkpoint::open_files({path});
    const auto& w = ckpt->get("model.layers.1.self_attn.kv_a_proj_with_mqa.weight");  // [144, 256]
    const auto& s = ckpt->get("model.layers.1.self_attn.kv_a_proj_with_mqa.weight_scale_inv");  // [2, 2]
    REQUIRE(w.dtype == safetensors::DType::F8_E4M3);
    REQUIRE(w.shape == std::vector<int64_t>{144, 256});
    REQUIRE(s.shape == std::vector<int64_t>{2, 2});
    std::vector<float> out(144 * 256);
    ckpt->read_rows_f32(w.name, 0, 144, out.data());
    const float* scale = reinterpret_cast<const float*>(s.data);
    for (int64_t r = 0; r < 144; ++r)
        for (int64_t c = 0; c < 256; ++c)
            REQUIRE(out[static_cast<size_t>(r * 256 + c)] == fp8_e4m3_to_fp32(w.data[r * 256 + c]) * scale[(r / 128) * 2 + c / 128]);
}

TEST_CASE("safetensors: sharded checkpoints follow model.safetensors.index.json", "[safetensors]") {
    ScratchDir dir;
    write_file(dir.file("model-00001-of-00002.safetensors"),
               build_safetensors({{"a", "F32", {2}, as_bytes(std::vector<float>{1, 2})}}));
    write_file(dir.file("model-00002-of-00002.safetensors"),
               build_safetensors({{"b", "F32", {1}, as_bytes(std::vector<float>{3})}}));
    write_text(dir.file("model.safetensors.index.json"),
               R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
    {
        const auto ckpt = Checkpoint::open_directory(dir.path().string());
        CHECK(ckpt->names() == std::vector<std::string>{"a", "b"});
        float v = 0;
        ckpt->read_rows_f32("b", 0, 1, &v);
        CHECK(v == 3.0f);
    }
    SECTION("a tensor in the wrong shard") {
        write_text(dir.file("model.safetensors.index.json"),
                   R"({"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
        CHECK_THROWS_WITH(Checkpoint::open_directory(dir.path().string()), Catch::Contains("does not hold it"));
    }
    SECTION("a missing shard is named") {
        std::filesystem::remove(dir.file("model-00002-of-00002.safetensors"));
        CHECK_THROWS_WITH(Checkpoint::open_directory(dir.path().string()),
                          Catch::Contains("model-00002-of-00002.safetensors") && Catch::Contains("missing"));
    }
    SECTION("a name defined twice") {
        write_file(dir.file("model-00002-of-00002.safetensors"),
                   build_safetensors({{"a", "F32", {1}, as_bytes(std::vector<float>{3})}}));
        std::filesystem::remove(dir.file("model.safetensors.index.json"));
        CHECK_THROWS_WITH(Checkpoint::open_directory(dir.path().string()), Catch::Contains("defined in both"));
    }
    SECTION("no safetensors at all") {
        ScratchDir empty;
        CHECK_THROWS_WITH(Checkpoint::open_directory(empty.path().string()), Catch::Contains("no *.safetensors"));
    }
}
