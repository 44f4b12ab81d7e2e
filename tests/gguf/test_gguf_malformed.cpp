// Every kind of malformed GGUF file must give a moecpu::Error naming the file and the problem,
// never a crash or an out-of-bounds read (these tests also run under ASan/UBSan).
#include <catch2/catch.hpp>

#include <limits>

#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "tests/gguf/gguf_test_util.h"

using namespace moecpu;
using namespace moecpu::gguf;
using moecpu::test::Bytes;

namespace {

constexpr const char* kName = "bad-file.gguf";
constexpr uint32_t kF32 = 0, kQ4_K = 12, kQ8_0 = 8;

void expect_bad(const std::vector<uint8_t>& bytes, const std::string& problem) {
    // A heap copy of exactly the file's size, so ASan sees any read past its end.
    std::vector<uint8_t> copy(bytes);
    try {
        Reader::from_memory(copy.data(), copy.size(), kName);
        FAIL("accepted a file that should fail with: " << problem);
    } catch (const Error& e) {
        CHECK(e.status() == MOECPU_ERR_BAD_FORMAT);
        CHECK_THAT(e.what(), Catch::Contains(kName) && Catch::Contains(problem));
    }
}

// One F32 tensor of 8 elements at data offset 0, with its data.
Bytes valid_one_tensor() {
    Bytes b;
    b.header(1, 1).kv_str("general.architecture", "x").tensor("w", {8}, kF32, 0).pad_to(32).zeros(32);
    return b;
}

}  // namespace

TEST_CASE("gguf malformed: the valid baseline parses", "[gguf]") {
    const Bytes b = valid_one_tensor();
    const auto r = Reader::from_memory(b.data.data(), b.data.size(), kName);
    CHECK(r->tensors().size() == 1);
    CHECK(r->tensors()[0].n_bytes == 32);
    CHECK(r->path() == kName);
}

TEST_CASE("gguf malformed: not a GGUF file", "[gguf]") {
    expect_bad({}, "file is empty");
    expect_bad({'G', 'G'}, "too short");
    Bytes text;
    text.raw("hello, this is a text file\n");
    expect_bad(text.data, "not a GGUF file: starts with 'hell'");
    Bytes safetensors;
    safetensors.u64(20).raw("{\"__metadata__\":{}} ");
    expect_bad(safetensors.data, "safetensors");
    Bytes magic;
    magic.raw("GGUX").u32(3).u64(0).u64(0);
    expect_bad(magic.data, "expected 'GGUF'");
    Bytes swapped;
    swapped.raw("FUGG").u32(3).u64(0).u64(0);
    expect_bad(swapped.data, "big-endian");
}

TEST_CASE("gguf malformed: versions", "[gguf]") {
    Bytes v1, v4, v0, be;
    v1.header(0, 0, 1);
    v4.header(0, 0, 4);
    v0.header(0, 0, 0);
    be.header(0, 0, 0x03000000u);
    expect_bad(v1.data, "GGUF version 1 is not supported");
    expect_bad(v4.data, "unsupported GGUF version 4");
    expect_bad(v0.data, "unsupported GGUF version 0");
    expect_bad(be.data, "big-endian");

    Bytes v2;  // v2 has v3's layout (64-bit counts)
    v2.header(0, 1, 2).kv_u32("a", 1);
    CHECK(Reader::from_memory(v2.data.data(), v2.data.size(), kName)->version() == 2);
}

TEST_CASE("gguf malformed: truncation", "[gguf]") {
    Bytes header;
    header.raw("GGUF").u32(3).u32(0);
    expect_bad(header.data, "truncated file: header");

    Bytes key;  // key claims 20 bytes, 5 present
    key.header(0, 1).u64(20).raw("gener");
    expect_bad(key.data, "key #0 at offset 24 claims 20 bytes but only 5 remain");

    Bytes value;  // string value cut short
    value.header(0, 1).str("k").u32(8).u64(10).raw("abc");
    expect_bad(value.data, "value of key 'k' at offset");

    Bytes scalar;  // u64 value with 3 bytes
    scalar.header(0, 1).str("k").u32(10).raw("abc");
    expect_bad(scalar.data, "truncated file: value of key 'k'");

    Bytes info;  // tensor info cut inside the shape (long enough to pass the count check)
    info.header(1, 0).str("w").u32(4).i64(8).i64(8);
    expect_bad(info.data, "truncated file: tensor 'w' shape");

    // Every prefix of a valid file fails cleanly (the last tensor ends at the end of the file).
    const Bytes full = valid_one_tensor();
    for (size_t n = 0; n < full.data.size(); ++n) {
        std::vector<uint8_t> prefix(full.data.begin(), full.data.begin() + static_cast<std::ptrdiff_t>(n));
        CHECK_THROWS_AS(Reader::from_memory(prefix.data(), prefix.size(), kName), Error);
    }
}

TEST_CASE("gguf malformed: lengths and counts larger than the file", "[gguf]") {
    Bytes huge_string;
    huge_string.header(0, 1).str("k").u32(8).u64(std::numeric_limits<uint64_t>::max()).raw("abc");
    expect_bad(huge_string.data, "claims 18446744073709551615 bytes");

    Bytes huge_key;
    huge_key.header(0, 1).u64(1ull << 62).raw("abcdefgh");
    expect_bad(huge_key.data, "key #0 at offset 24 claims");

    Bytes huge_array;
    huge_array.header(0, 1).str("k").u32(9).u32(4).u64(1000000).u32(1);
    expect_bad(huge_array.data, "array of 1000000 u32 elements cannot fit");

    Bytes huge_string_array;  // each string needs at least 8 bytes
    huge_string_array.header(0, 1).str("k").u32(9).u32(8).u64(4).zeros(31);
    expect_bad(huge_string_array.data, "array of 4 str elements cannot fit");

    // A count the bytes could hold, but far more values than any real metadata has.
    Bytes many_values;
    many_values.header(0, 1).str("k").u32(9).u32(0).u64(uint64_t{1} << 25).zeros(size_t{1} << 25);
    expect_bad(many_values.data, "the metadata holds more than 16777216 values");

    Bytes kv_count;
    kv_count.header(0, 1ull << 60).kv_u32("a", 1);
    expect_bad(kv_count.data, "key-value count 1152921504606846976 is larger than the file could hold");

    Bytes tensor_count;
    tensor_count.header(std::numeric_limits<uint64_t>::max(), 0);
    expect_bad(tensor_count.data, "tensor count 18446744073709551615 is larger than the file could hold");

    Bytes tensor_count_after_kvs;  // plausible before the keys are read, too many after
    tensor_count_after_kvs.header(2, 1).kv_str("k", std::string(40, 'x')).tensor("w", {8}, kF32, 0);
    expect_bad(tensor_count_after_kvs.data, "larger than the rest of the file could hold");
}

TEST_CASE("gguf malformed: bad metadata", "[gguf]") {
    Bytes dup;
    dup.header(0, 2).kv_u32("a", 1).kv_u32("a", 2);
    expect_bad(dup.data, "duplicate key 'a'");

    Bytes empty_key;
    empty_key.header(0, 1).kv_u32("", 1);
    expect_bad(empty_key.data, "key #0 is empty");

    Bytes bad_type;
    bad_type.header(0, 1).str("k").u32(13).u32(0);
    expect_bad(bad_type.data, "value of key 'k' has unknown type 13");

    Bytes bad_elem;
    bad_elem.header(0, 1).str("k").u32(9).u32(77).u64(0);
    expect_bad(bad_elem.data, "unknown array element type 77");

    Bytes deep;  // arrays of one array, nested past the limit
    deep.header(0, 1).str("k").u32(9);
    for (int d = 0; d < kMaxArrayNesting; ++d) deep.u32(9).u64(1);
    deep.u32(4).u64(0);
    expect_bad(deep.data, "arrays nested deeper than");

    Bytes ok_nesting;  // exactly at the limit parses
    ok_nesting.header(0, 1).str("k").u32(9);
    for (int d = 0; d < kMaxArrayNesting - 1; ++d) ok_nesting.u32(9).u64(1);
    ok_nesting.u32(4).u64(0);
    CHECK_NOTHROW(Reader::from_memory(ok_nesting.data.data(), ok_nesting.data.size(), kName));
}

TEST_CASE("gguf malformed: alignment", "[gguf]") {
    Bytes zero, three, wrong_type;
    zero.header(0, 1).kv_u32(kKeyAlignment, 0);
    three.header(0, 1).kv_u32(kKeyAlignment, 3);
    wrong_type.header(0, 1).str(kKeyAlignment).u32(10).u64(32);
    expect_bad(zero.data, "'general.alignment' is 0, not a non-zero power of two");
    expect_bad(three.data, "'general.alignment' is 3, not a non-zero power of two");
    expect_bad(wrong_type.data, "'general.alignment' must be u32, found u64");

    // Alignment 64 is honoured: 90 bytes of metadata put the data section at 128, and offset 32
    // is misaligned.
    Bytes b;
    b.header(1, 1).kv_u32(kKeyAlignment, 64).tensor("w", {8}, kF32, 0).pad_to(64).zeros(32);
    const auto r = Reader::from_memory(b.data.data(), b.data.size(), kName);
    CHECK(r->data_offset() == 128);
    CHECK(r->tensors()[0].data == b.data.data() + 128);
    Bytes mis;
    mis.header(1, 1).kv_u32(kKeyAlignment, 64).tensor("w", {8}, kF32, 32).pad_to(64).zeros(64);
    expect_bad(mis.data, "tensor 'w' data offset 32 is not a multiple of the alignment 64");
}

TEST_CASE("gguf malformed: tensor declarations", "[gguf]") {
    auto one = [](const std::vector<int64_t>& ne, uint32_t type) {
        Bytes b;
        b.header(1, 0).tensor("w", ne, type, 0).pad_to(32).zeros(256);
        return b.data;
    };
    expect_bad(one({8}, 4), "tensor 'w': unknown tensor type id 4");
    expect_bad(one({8}, 1000), "unknown tensor type id 1000");
    expect_bad(one({8, 0}, kF32), "dimension 1 is 0 (must be positive)");
    expect_bad(one({-8}, kF32), "dimension 0 is -8 (must be positive)");
    expect_bad(one({1ll << 32, 1ll << 32}, kF32), "element count overflows int64");
    expect_bad(one({1ll << 62}, kF32), "byte size overflows int64");
    expect_bad(one({100}, kQ4_K), "row length 100 is not a multiple of the q4_K block size 256");
    expect_bad(one({2, 2, 2, 2, 2}, kF32), "tensor 'w' has 5 dimensions (at most 4)");

    Bytes unnamed;
    unnamed.header(1, 0).tensor("", {8}, kF32, 0).pad_to(32).zeros(32);
    expect_bad(unnamed.data, "tensor #0 has an empty name");

    Bytes dup;
    dup.header(2, 0).tensor("w", {8}, kF32, 0).tensor("w", {8}, kF32, 32).pad_to(32).zeros(64);
    expect_bad(dup.data, "duplicate tensor name 'w'");

    Bytes scalar;  // zero dimensions: a one-element scalar, as ggml reads it
    scalar.header(1, 0).tensor("s", {}, kF32, 0).pad_to(32).zeros(4);
    const auto r = Reader::from_memory(scalar.data.data(), scalar.data.size(), kName);
    CHECK(r->tensors()[0].n_bytes == 4);
    CHECK(r->tensors()[0].n_elements() == 1);
}

TEST_CASE("gguf malformed: tensor data placement", "[gguf]") {
    Bytes short_data;  // 32 bytes declared, 16 present
    short_data.header(1, 0).tensor("w", {8}, kF32, 0).pad_to(32).zeros(16);
    expect_bad(short_data.data, "tensor 'w' data (32 bytes at data offset 0");

    Bytes far;  // offset past the end; also near the top of u64 to catch overflow
    far.header(1, 0).tensor("w", {8}, kF32, 0xFFFFFFFFFFFFFFE0ull).pad_to(32).zeros(32);
    expect_bad(far.data, "lies outside the file");

    Bytes no_data;  // data section would start past the end of the file
    no_data.header(1, 0).tensor("w", {8}, kF32, 0);
    expect_bad(no_data.data, "lies outside the file");

    Bytes overlap;  // q8_0 [64] is 68 bytes, so offset 64 overlaps it
    overlap.header(2, 0).tensor("a", {64}, kQ8_0, 0).tensor("b", {8}, kF32, 64).pad_to(32).zeros(128);
    expect_bad(overlap.data, "tensor 'b' data overlaps tensor 'a'");

    Bytes same;  // identical offsets, declared out of order
    same.header(2, 0).tensor("a", {8}, kF32, 32).tensor("b", {8}, kF32, 32).pad_to(32).zeros(64);
    expect_bad(same.data, "overlaps");

    Bytes reordered;  // out-of-order but disjoint data is fine
    reordered.header(2, 0).tensor("a", {8}, kF32, 32).tensor("b", {8}, kF32, 0).pad_to(32).zeros(64);
    CHECK(Reader::from_memory(reordered.data.data(), reordered.data.size(), kName)->tensors().size() == 2);
}

TEST_CASE("gguf malformed: single-byte corruptions never crash", "[gguf]") {
    // Every byte of a small valid file, set to a few interesting values: the reader either
    // accepts the result or throws moecpu::Error; ASan/UBSan builds catch anything worse.
    Bytes base;
    base.header(2, 3)
        .kv_str("general.architecture", "deepseek2")
        .kv_u32("general.alignment", 32)
        .str("arr").u32(9).u32(8).u64(2).str("ab").str("c")
        .tensor("a", {32, 2}, kQ8_0, 0)
        .tensor("b", {8}, kF32, 96)
        .pad_to(32)
        .zeros(128);
    REQUIRE_NOTHROW(Reader::from_memory(base.data.data(), base.data.size(), kName));
    size_t rejected = 0;
    for (size_t pos = 0; pos < base.data.size(); ++pos) {
        for (uint8_t v : {uint8_t{0x00}, uint8_t{0x01}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff}}) {
            std::vector<uint8_t> bytes = base.data;
            if (bytes[pos] == v) continue;
            bytes[pos] = v;
            try {
                Reader::from_memory(bytes.data(), bytes.size(), kName);
            } catch (const Error& e) {
                CHECK(e.status() == MOECPU_ERR_BAD_FORMAT);
                ++rejected;
            }
        }
    }
    CHECK(rejected > 0);
}

TEST_CASE("gguf open: I/O errors name the file", "[gguf]") {
    moecpu::test::TempDir dir;
    auto status_of = [](const std::string& path) {
        try {
            Reader::open(path);
        } catch (const Error& e) {
            CHECK_THAT(e.what(), Catch::Contains(path));
            return e.status();
        }
        return MOECPU_OK;
    };
    CHECK(status_of(dir.file("missing.gguf")) == MOECPU_ERR_IO);
    CHECK(status_of(dir.path().string()) == MOECPU_ERR_IO);
    moecpu::test::write_file_bytes(dir.file("empty.gguf"), {});
    CHECK(status_of(dir.file("empty.gguf")) == MOECPU_ERR_BAD_FORMAT);
}
