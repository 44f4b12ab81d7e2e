// Writer → Reader round trips, the exact header bytes of a small file, and the writer's
// temp-file / no-clobber guarantees.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "lib/src/mapped_file.h"
#include "quant/type_traits.h"
#include "tests/gguf/gguf_test_util.h"

using namespace moecpu;
using namespace moecpu::gguf;
using moecpu::test::Bytes;
using moecpu::test::TempDir;

namespace {

// Deterministic filler so each tensor's bytes are distinguishable.
std::vector<uint8_t> pattern_bytes(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<uint8_t>(x);
    }
    return v;
}

struct TensorCase {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
};

uint64_t expected_bytes(const TensorCase& t) {
    const TypeTraits& tr = traits_of(t.type);
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    return static_cast<uint64_t>(n / tr.block_size) * tr.type_size;
}

void check_same_value(const Value& a, const Value& b) {
    REQUIRE(a.type == b.type);
    switch (a.type) {
        case ValueType::STRING: CHECK(a.str == b.str); break;
        case ValueType::FLOAT32:
        case ValueType::FLOAT64: CHECK(a.f == b.f); break;
        case ValueType::ARRAY:
            REQUIRE(a.array_type == b.array_type);
            REQUIRE(a.array.size() == b.array.size());
            for (size_t k = 0; k < a.array.size(); ++k) check_same_value(a.array[k], b.array[k]);
            break;
        default:
            CHECK(a.u == b.u);
            CHECK(a.i == b.i);
    }
}

std::vector<KeyValue> every_value_type() {
    std::string long_string(100000, 'x');
    long_string[500] = '\0';  // embedded NUL survives: strings are length-prefixed
    long_string += "\xE2\x9C\x93";
    Value nested = Value::make_array(
        ValueType::ARRAY, {Value::make_i32_array({1, 2, 3}), Value::make_i32_array({}), Value::make_i32_array({-7})});
    Value deeper = Value::make_array(ValueType::ARRAY, {nested, nested});
    return {
        {"general.architecture", Value::make_string("deepseek2")},
        {"t.u8", Value::make_u8(250)},
        {"t.i8", Value::make_i8(-120)},
        {"t.u16", Value::make_u16(65000)},
        {"t.i16", Value::make_i16(-32000)},
        {"t.u32", Value::make_u32(4000000000u)},
        {"t.i32", Value::make_i32(-2000000000)},
        {"t.f32", Value::make_f32(0.1f)},
        {"t.bool.true", Value::make_bool(true)},
        {"t.bool.false", Value::make_bool(false)},
        {"t.string.empty", Value::make_string("")},
        {"t.string.long", Value::make_string(long_string)},
        {"t.u64", Value::make_u64(18446744073709551615ull)},
        {"t.i64", Value::make_i64(-9223372036854775807ll - 1)},
        {"t.f64", Value::make_f64(-1.0e300)},
        {"t.arr.u8", Value::make_array(ValueType::UINT8, {Value::make_u8(1), Value::make_u8(255)})},
        {"t.arr.i16", Value::make_array(ValueType::INT16, {Value::make_i16(-1)})},
        {"t.arr.f32", Value::make_f32_array({1.5f, -2.25f, 1e-30f})},
        {"t.arr.f64", Value::make_array(ValueType::FLOAT64, {Value::make_f64(3.25)})},
        {"t.arr.bool", Value::make_array(ValueType::BOOL, {Value::make_bool(true), Value::make_bool(false)})},
        {"t.arr.str", Value::make_string_array({"a", "", "<｜begin▁of▁sentence｜>"})},
        {"t.arr.u64", Value::make_array(ValueType::UINT64, {Value::make_u64(1ull << 40)})},
        {"t.arr.empty", Value::make_array(ValueType::INT32, {})},
        {"t.arr.empty_str", Value::make_string_array({})},
        {"t.arr.nested", nested},
        {"t.arr.nested2", deeper},
        {"\xE6\x97\xA5\xE6\x9C\xAC.key", Value::make_u32(7)},
    };
}

const std::vector<TensorCase> kTensors = {
    {"token_embd.weight", GgmlType::F32, {8, 3}},
    {"blk.0.attn_norm.weight", GgmlType::F16, {16}},
    {"blk.0.ffn_gate_exps.weight", GgmlType::Q4_K, {256, 2, 3}},
    {"blk.0.ffn_down_exps.weight", GgmlType::Q8_0, {64, 2, 3}},
    {"blk.0.iq", GgmlType::IQ2_XXS, {256}},
    {"blk.0.bf16", GgmlType::BF16, {2, 3, 4, 5}},
    {"blk.0.q6", GgmlType::Q6_K, {512, 1}},
};

// Hands `bytes` to the writer in uneven pieces: `first` bytes, then each piece `growth` times
// the last one plus one.
void write_in_growing_pieces(Writer& w, const std::vector<uint8_t>& bytes, size_t first, size_t growth) {
    size_t done = 0, piece = first;
    while (done < bytes.size()) {
        const size_t n = std::min(piece, bytes.size() - done);
        w.write_tensor_data(bytes.data() + done, n);
        done += n;
        piece = piece * growth + 1;
    }
}

// Writes every value type and kTensors; tensor i's bytes are pattern_bytes(n, i).
void write_sample(const std::string& path, size_t alignment) {
    Writer w(path, alignment);
    for (const KeyValue& kv : every_value_type()) w.set(kv.key, kv.value);
    for (const TensorCase& t : kTensors) w.add_tensor(t.name, t.type, static_cast<int>(t.ne.size()), t.ne.data());
    for (size_t i = 0; i < kTensors.size(); ++i) {
        const std::vector<uint8_t> bytes = pattern_bytes(expected_bytes(kTensors[i]), static_cast<uint32_t>(i));
        REQUIRE(w.tensor_bytes(kTensors[i].name) == bytes.size());
        write_in_growing_pieces(w, bytes, 1, 3);  // a tensor may arrive in several calls
    }
    w.finish();
}

void check_sample(const Reader& r, size_t alignment) {
    CHECK(r.version() == 3);
    CHECK(r.alignment() == alignment);
    CHECK(r.data_offset() % alignment == 0);
    CHECK(r.has(kKeyAlignment) == (alignment != kDefaultAlignment));

    const std::vector<KeyValue> expected = every_value_type();
    size_t matched = 0;
    for (const KeyValue& kv : expected) {
        const Value* v = r.find(kv.key);
        REQUIRE(v != nullptr);
        check_same_value(kv.value, *v);
        ++matched;
    }
    // Insertion order is kept; general.alignment (when written) comes last.
    for (size_t k = 0; k < expected.size(); ++k) CHECK(r.kvs()[k].key == expected[k].key);
    CHECK(r.kvs().size() == expected.size() + (alignment != kDefaultAlignment ? 1 : 0));

    REQUIRE(r.tensors().size() == kTensors.size());
    for (size_t i = 0; i < kTensors.size(); ++i) {
        const TensorInfo& t = r.tensors()[i];
        CHECK(t.name == kTensors[i].name);
        CHECK(t.type == kTensors[i].type);
        REQUIRE(t.n_dims == static_cast<int>(kTensors[i].ne.size()));
        for (int d = 0; d < kMaxDims; ++d) {
            CHECK(t.ne[d] == (d < t.n_dims ? kTensors[i].ne[d] : 1));
        }
        CHECK(t.offset % alignment == 0);
        CHECK(t.n_bytes == expected_bytes(kTensors[i]));
        CHECK(r.find_tensor(t.name) == &t);
        const std::vector<uint8_t> bytes = pattern_bytes(t.n_bytes, static_cast<uint32_t>(i));
        CHECK(std::memcmp(t.data, bytes.data(), bytes.size()) == 0);
        CHECK(t.data == r.file_data() + r.data_offset() + t.offset);
    }
    CHECK(r.find_tensor("missing") == nullptr);
    CHECK(r.find("missing") == nullptr);
}

}  // namespace

TEST_CASE("gguf round trip keeps every value type and tensor", "[gguf]") {
    TempDir dir;
    for (size_t alignment : {size_t{32}, size_t{1}, size_t{64}, size_t{4096}}) {
        DYNAMIC_SECTION("alignment " << alignment) {
            const std::string path = dir.file("sample.gguf");
            write_sample(path, alignment);
            CHECK(dir.entries() == std::vector<std::string>{"sample.gguf"});  // no temp file left

            const auto mapped = Reader::open(path);
            REQUIRE(mapped->mapped_file() != nullptr);
            CHECK(mapped->mapped_file()->mode() == MappedFile::Mode::Map);
            check_sample(*mapped, alignment);

            const auto copied = Reader::open(path, /*use_mmap=*/false);
            CHECK(copied->mapped_file()->mode() == MappedFile::Mode::ReadIntoMemory);
            check_sample(*copied, alignment);

            // The file ends on an alignment boundary: every tensor is padded, the last one too.
            CHECK(mapped->file_size() % alignment == 0);
        }
    }
}

// The writer hands the file whole buffers at aligned offsets (so the page cache can keep the model
// in 2 MiB folios); tensors larger than that buffer, arriving in pieces of every size, smaller
// and larger than it, must still land byte for byte.
TEST_CASE("gguf writer streams tensors larger than its buffer", "[gguf]") {
    TempDir dir;
    const std::string path = dir.file("big.gguf");
    const std::vector<TensorCase> big = {
        {"a", GgmlType::Q8_0, {4096, 700}},  // ~3 MiB each: boundaries of a 4 MiB buffer fall inside
        {"b", GgmlType::F32, {3, 5}},
        {"c", GgmlType::Q8_0, {4096, 1500}},
    };
    {
        Writer w(path);
        w.set("general.architecture", Value::make_string("test"));
        for (const TensorCase& t : big) w.add_tensor(t.name, t.type, static_cast<int>(t.ne.size()), t.ne.data());
        for (size_t i = 0; i < big.size(); ++i) {
            const std::vector<uint8_t> bytes = pattern_bytes(expected_bytes(big[i]), static_cast<uint32_t>(i + 7));
            write_in_growing_pieces(w, bytes, 5, 7);
        }
        w.finish();
    }
    const auto r = Reader::open(path);
    REQUIRE(r->tensors().size() == big.size());
    for (size_t i = 0; i < big.size(); ++i) {
        const TensorInfo& t = r->tensors()[i];
        const std::vector<uint8_t> bytes = pattern_bytes(t.n_bytes, static_cast<uint32_t>(i + 7));
        REQUIRE(t.n_bytes == bytes.size());
        CHECK(std::memcmp(t.data, bytes.data(), bytes.size()) == 0);
    }
    CHECK(r->file_size() % kDefaultAlignment == 0);
}

TEST_CASE("gguf reader typed getters", "[gguf]") {
    TempDir dir;
    const std::string path = dir.file("getters.gguf");
    {
        Writer w(path);
        w.set("s", Value::make_string("hello"));
        w.set("u", Value::make_u32(42));
        w.set("neg", Value::make_i32(-3));
        w.set("f", Value::make_f32(2.0f));
        w.set("half", Value::make_f32(0.5f));
        w.set("b", Value::make_bool(true));
        w.set("u", Value::make_u32(43));  // replaces, keeps position
        w.finish();
    }
    const auto r = Reader::open(path);
    REQUIRE(r->kvs().size() == 6);
    CHECK(r->kvs()[1].key == "u");
    CHECK(r->get_string("s") == "hello");
    CHECK(r->get_string("absent", "dflt") == "dflt");
    CHECK(r->get_u64("u", 0) == 43);
    CHECK(r->get_i64("neg", 0) == -3);
    CHECK(r->get_u64("f", 0) == 2);  // an integral float converts
    CHECK(r->get_f64("u", 0) == 43.0);
    CHECK(r->get_bool("b", false));
    CHECK(r->get_u64("absent", 9) == 9);
    CHECK(r->tensors().empty());

    auto expect_key_error = [&](auto&& fn, const std::string& key) {
        try {
            fn();
            FAIL("no error for key " << key);
        } catch (const Error& e) {
            CHECK(e.status() == MOECPU_ERR_BAD_FORMAT);
            CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("'" + key + "'"));
        }
    };
    expect_key_error([&] { r->get_string("u"); }, "u");
    expect_key_error([&] { r->get_u64("neg", 0); }, "neg");
    expect_key_error([&] { r->get_u64("half", 0); }, "half");
    expect_key_error([&] { r->get_i64("s", 0); }, "s");
    expect_key_error([&] { r->get_bool("u", false); }, "u");
}

TEST_CASE("gguf writer produces the exact bytes llama.cpp expects", "[gguf]") {
    TempDir dir;
    const std::string path = dir.file("small.gguf");
    {
        Writer w(path);
        w.set("general.architecture", Value::make_string("test"));
        const int64_t ne[1] = {4};
        w.add_tensor("t", GgmlType::F32, 1, ne);
        const float data[4] = {1.0f, 2.0f, 3.0f, 4.0f};
        w.write_tensor_data(data, sizeof(data));
        w.finish();
    }
    // Hand-computed layout: 24-byte header, 44-byte key-value, 33-byte tensor info = 101 bytes,
    // zero padding to 128, 16 data bytes, zero padding to 160.
    const std::vector<uint8_t> expected = {
        'G', 'G', 'U', 'F',  3, 0, 0, 0,                         // magic, version 3
        1, 0, 0, 0, 0, 0, 0, 0,                                   // tensor count
        1, 0, 0, 0, 0, 0, 0, 0,                                   // key-value count
        20, 0, 0, 0, 0, 0, 0, 0,                                  // key length
        'g', 'e', 'n', 'e', 'r', 'a', 'l', '.', 'a', 'r', 'c', 'h', 'i', 't', 'e', 'c', 't', 'u', 'r', 'e',
        8, 0, 0, 0,                                               // STRING
        4, 0, 0, 0, 0, 0, 0, 0, 't', 'e', 's', 't',               // value
        1, 0, 0, 0, 0, 0, 0, 0, 't',                              // tensor name
        1, 0, 0, 0,                                               // n_dims
        4, 0, 0, 0, 0, 0, 0, 0,                                   // ne[0]
        0, 0, 0, 0,                                               // GGML_TYPE_F32
        0, 0, 0, 0, 0, 0, 0, 0,                                   // offset
    };
    REQUIRE(expected.size() == 101);
    std::vector<uint8_t> full = expected;
    full.resize(128, 0);
    for (float f : {1.0f, 2.0f, 3.0f, 4.0f}) {
        uint8_t b[4];
        std::memcpy(b, &f, 4);
        full.insert(full.end(), b, b + 4);
    }
    full.resize(160, 0);
    CHECK(moecpu::test::read_file_bytes(path) == full);

    // The encoder used by the malformed-file tests agrees.
    Bytes b;
    b.header(1, 1).kv_str("general.architecture", "test").tensor("t", {4}, 0, 0);
    CHECK(b.data == expected);
}

TEST_CASE("gguf writer: general.alignment only when not the default", "[gguf]") {
    TempDir dir;
    {
        Writer w(dir.file("a.gguf"), 64);
        w.set(kKeyAlignment, Value::make_u32(64));  // explicit and consistent: kept where it was set
        w.set("z", Value::make_u32(1));
        w.finish();
    }
    const auto r = Reader::open(dir.file("a.gguf"));
    REQUIRE(r->kvs().size() == 2);
    CHECK(r->kvs()[0].key == kKeyAlignment);
    CHECK(r->alignment() == 64);

    Writer w(dir.file("b.gguf"), 64);
    CHECK_THROWS_AS(w.set(kKeyAlignment, Value::make_u32(32)), Error);
    CHECK_THROWS_AS(w.set(kKeyAlignment, Value::make_u64(64)), Error);
}

TEST_CASE("gguf writer rejects bad declarations", "[gguf]") {
    TempDir dir;
    const std::string path = dir.file("bad.gguf");
    auto status_of = [](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return e.status();
        }
        return MOECPU_OK;
    };
    CHECK(status_of([&] { Writer w(path, 3); }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { Writer w(path, 0); }) == MOECPU_ERR_INVALID_ARGUMENT);

    Writer w(path);
    const int64_t ne[4] = {256, 2, 1, 1};
    const int64_t bad_row[1] = {100};
    const int64_t zero[2] = {32, 0};
    CHECK(status_of([&] { w.set("", Value::make_u32(1)); }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] {
              w.set("mixed", Value::make_array(ValueType::INT32, {Value::make_i32(1), Value::make_u32(2)}));
          }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { w.add_tensor("", GgmlType::F32, 1, ne); }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { w.add_tensor(std::string(64, 'n'), GgmlType::F32, 1, ne); }) ==
          MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { w.add_tensor("r", GgmlType::Q4_K, 1, bad_row); }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { w.add_tensor("z", GgmlType::F32, 2, zero); }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { w.add_tensor("d", GgmlType::F32, 5, ne); }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { w.add_tensor("u", static_cast<GgmlType>(4), 1, ne); }) == MOECPU_ERR_INVALID_ARGUMENT);
    w.add_tensor("ok", GgmlType::Q4_K, 2, ne);
    CHECK(status_of([&] { w.add_tensor("ok", GgmlType::F32, 1, ne); }) == MOECPU_ERR_INVALID_ARGUMENT);

    // Too many bytes for the tensor, then finishing early.
    std::vector<uint8_t> bytes(w.tensor_bytes("ok") + 1);
    CHECK(status_of([&] { w.write_tensor_data(bytes.data(), bytes.size()); }) == MOECPU_ERR_INVALID_ARGUMENT);
    w.write_tensor_data(bytes.data(), 10);
    CHECK(status_of([&] { w.set("late", Value::make_u32(1)); }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { w.finish(); }) == MOECPU_ERR_INVALID_ARGUMENT);
    w.write_tensor_data(bytes.data(), w.tensor_bytes("ok") - 10);
    CHECK(status_of([&] { w.write_tensor_data(bytes.data(), 1); }) == MOECPU_ERR_INVALID_ARGUMENT);
    w.finish();
    CHECK(status_of([&] { w.finish(); }) == MOECPU_ERR_INVALID_ARGUMENT);
    CHECK(Reader::open(path)->find_tensor("ok")->n_bytes == 2 * 144);
}

TEST_CASE("gguf writer never leaves a temp file nor clobbers on failure", "[gguf]") {
    TempDir dir;
    const std::string path = dir.file("model.gguf");
    const std::vector<uint8_t> original = {'o', 'l', 'd'};
    moecpu::test::write_file_bytes(path, original);

    SECTION("destroyed before finish") {
        {
            Writer w(path);
            w.set("k", Value::make_u32(1));
            const int64_t ne[1] = {1024};
            w.add_tensor("t", GgmlType::F32, 1, ne);
            std::vector<uint8_t> half(2048);
            w.write_tensor_data(half.data(), half.size());
            // While writing, the data goes to a sibling temp file.
            const auto names = dir.entries();
            REQUIRE(names.size() == 2);
            bool has_temp = false;
            for (const auto& n : names) has_temp |= n.rfind("model.gguf.tmp-", 0) == 0;
            CHECK(has_temp);
        }
        CHECK(dir.entries() == std::vector<std::string>{"model.gguf"});
        CHECK(moecpu::test::read_file_bytes(path) == original);
    }
    SECTION("finish fails") {
        {
            Writer w(path);
            const int64_t ne[1] = {32};
            w.add_tensor("t", GgmlType::F32, 1, ne);
            CHECK_THROWS_AS(w.finish(), Error);
        }
        CHECK(dir.entries() == std::vector<std::string>{"model.gguf"});
        CHECK(moecpu::test::read_file_bytes(path) == original);
    }
    SECTION("finish succeeds and replaces the file") {
        {
            Writer w(path);
            w.finish();
        }
        CHECK(dir.entries() == std::vector<std::string>{"model.gguf"});
        const auto r = Reader::open(path);
        CHECK(r->kvs().empty());
        CHECK(r->file_size() == 32);  // 24-byte header padded to the alignment
        CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_read) !=
              std::filesystem::perms::none);
    }
    SECTION("directory does not exist") {
        try {
            Writer w(dir.file("missing/model.gguf"));
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.status() == MOECPU_ERR_IO);
            CHECK_THAT(e.what(), Catch::Contains("missing/model.gguf"));
        }
        CHECK(dir.entries() == std::vector<std::string>{"model.gguf"});
    }
}

TEST_CASE("mapped file modes and errors", "[gguf]") {
    TempDir dir;
    const std::string path = dir.file("f.bin");
    std::vector<uint8_t> bytes = pattern_bytes(10000, 5);
    moecpu::test::write_file_bytes(path, bytes);
    for (auto mode : {MappedFile::Mode::Map, MappedFile::Mode::ReadIntoMemory}) {
        const auto f = MappedFile::open(path, mode);
        REQUIRE(f->size() == bytes.size());
        CHECK(std::memcmp(f->data(), bytes.data(), bytes.size()) == 0);
        CHECK(reinterpret_cast<uintptr_t>(f->data()) % 4096 == 0);
        f->advise_willneed(100, 5000);
        f->advise_willneed(20000, 5);  // past the end: ignored
        f->advise_random();
        (void)f->lock(0, 100);  // may be refused by RLIMIT_MEMLOCK; must not crash
        // Every page was just read through this mapping: nothing is missing, whatever the
        // scratch size (1 flag: the range is checked a page at a time).
        unsigned char flags[3];
        for (size_t n_flags : {size_t(3), size_t(1)}) {
            CHECK(f->advise_willneed_missing(0, bytes.size(), flags, n_flags) == 0);
            CHECK(f->advise_willneed_missing(4000, 5000, flags, n_flags) == 0);
            CHECK(f->advise_willneed_missing(20000, 5, flags, n_flags) == 0);  // past the end
        }
    }
    moecpu::test::write_file_bytes(dir.file("empty"), {});
    CHECK(MappedFile::open(dir.file("empty"))->size() == 0);

    auto io_error = [](const std::string& p) {
        try {
            MappedFile::open(p);
        } catch (const Error& e) {
            CHECK_THAT(e.what(), Catch::Contains(p));
            return e.status();
        }
        return MOECPU_OK;
    };
    CHECK(io_error(dir.file("nope")) == MOECPU_ERR_IO);
    CHECK(io_error(dir.path().string()) == MOECPU_ERR_IO);
}
