// The type-traits table: ids, names, block and byte sizes as ggml has them, function pointers.
#include <catch2/catch.hpp>

#include <cctype>
#include <string>

#include "quant/block_formats.h"
#include "quant/ggml_types.h"
#include "quant/type_traits.h"

using namespace moecpu;

namespace {
struct Expected {
    uint32_t id;
    const char* name;
    int64_t block_size;
    size_t type_size;  // ggml's sizeof(block_*) / sizeof(element)
};
// ggml's values (ggml.c type_traits[]), written out independently of block_formats.h.
const Expected kGgml[] = {
    {0, "f32", 1, 4},       {1, "f16", 1, 2},        {2, "q4_0", 32, 18},     {3, "q4_1", 32, 20},
    {6, "q5_0", 32, 22},    {7, "q5_1", 32, 24},     {8, "q8_0", 32, 34},     {9, "q8_1", 32, 36},
    {10, "q2_K", 256, 84},  {11, "q3_K", 256, 110},  {12, "q4_K", 256, 144},  {13, "q5_K", 256, 176},
    {14, "q6_K", 256, 210}, {15, "q8_K", 256, 292},  {16, "iq2_xxs", 256, 66}, {17, "iq2_xs", 256, 74},
    {18, "iq3_xxs", 256, 98}, {19, "iq1_s", 256, 50}, {20, "iq4_nl", 32, 18}, {21, "iq3_s", 256, 110},
    {22, "iq2_s", 256, 82}, {23, "iq4_xs", 256, 136}, {24, "i8", 1, 1},       {25, "i16", 1, 2},
    {26, "i32", 1, 4},      {27, "i64", 1, 8},       {28, "f64", 1, 8},       {29, "iq1_m", 256, 56},
    {30, "bf16", 1, 2},     {34, "tq1_0", 256, 54},  {35, "tq2_0", 256, 66},  {39, "mxfp4", 32, 17},
};
const GgmlType kImplemented[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                                 GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q2_K,
                                 GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};
}  // namespace

TEST_CASE("traits: ids, names and sizes are ggml's", "[quant][traits]") {
    bool seen[40] = {};
    for (const Expected& e : kGgml) {
        INFO(e.name);
        const TypeTraits* t = type_traits(e.id);
        REQUIRE(t != nullptr);
        CHECK(std::string(t->name) == e.name);
        CHECK(t->block_size == e.block_size);
        CHECK(t->type_size == e.type_size);
        CHECK(t->is_quantized == (e.block_size > 1));
        seen[e.id] = true;
    }
    for (uint32_t id = 0; id < 40; ++id) {
        INFO("id " << id);
        if (!seen[id]) CHECK(type_traits(id) == nullptr);  // 4, 5, 31-33, 36-38 were removed
    }
    CHECK(type_traits(40u) == nullptr);
    CHECK(type_traits(1000u) == nullptr);
}

TEST_CASE("traits: block structs match the table", "[quant][traits]") {
    CHECK(traits_of(GgmlType::Q4_0).type_size == sizeof(block_q4_0));
    CHECK(traits_of(GgmlType::Q4_1).type_size == sizeof(block_q4_1));
    CHECK(traits_of(GgmlType::Q5_0).type_size == sizeof(block_q5_0));
    CHECK(traits_of(GgmlType::Q5_1).type_size == sizeof(block_q5_1));
    CHECK(traits_of(GgmlType::Q8_0).type_size == sizeof(block_q8_0));
    CHECK(traits_of(GgmlType::Q8_1).type_size == sizeof(block_q8_1));
    CHECK(traits_of(GgmlType::Q2_K).type_size == sizeof(block_q2_K));
    CHECK(traits_of(GgmlType::Q3_K).type_size == sizeof(block_q3_K));
    CHECK(traits_of(GgmlType::Q4_K).type_size == sizeof(block_q4_K));
    CHECK(traits_of(GgmlType::Q5_K).type_size == sizeof(block_q5_K));
    CHECK(traits_of(GgmlType::Q6_K).type_size == sizeof(block_q6_K));
    CHECK(traits_of(GgmlType::Q8_K).type_size == sizeof(block_q8_K));
    CHECK(traits_of(GgmlType::Q4_K).block_size == QK_K);
}

TEST_CASE("traits: names round-trip through type_from_name, case-insensitively", "[quant][traits]") {
    for (const Expected& e : kGgml) {
        INFO(e.name);
        GgmlType t = GgmlType::COUNT;
        REQUIRE(type_from_name(e.name, &t));
        CHECK(static_cast<uint32_t>(t) == e.id);
        std::string upper = e.name;
        for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
        t = GgmlType::COUNT;
        REQUIRE(type_from_name(upper, &t));
        CHECK(static_cast<uint32_t>(t) == e.id);
    }
    GgmlType t;
    CHECK_FALSE(type_from_name("q4_2", &t));
    CHECK_FALSE(type_from_name("", &t));
    CHECK_FALSE(type_from_name("q4_k_m", &t));
}

TEST_CASE("traits: row_size", "[quant][traits]") {
    CHECK(row_size(GgmlType::F32, 7) == 28);
    CHECK(row_size(GgmlType::BF16, 4096) == 8192);
    CHECK(row_size(GgmlType::Q4_0, 4096) == 128 * 18);
    CHECK(row_size(GgmlType::Q8_0, 64) == 68);
    CHECK(row_size(GgmlType::Q4_K, 7168) == 28 * 144);
    CHECK(row_size(GgmlType::Q6_K, 2048) == 8 * 210);
    CHECK(row_size(GgmlType::IQ4_XS, 512) == 2 * 136);
    CHECK(row_size(GgmlType::MXFP4, 64) == 34);
}

TEST_CASE("traits: implemented types have all conversion functions", "[quant][traits]") {
    for (GgmlType t : kImplemented) {
        const TypeTraits& tr = traits_of(t);
        INFO(tr.name);
        CHECK(tr.supported);
        CHECK(tr.to_float != nullptr);
        CHECK(tr.from_float_ref != nullptr);
        CHECK(tr.quantize != nullptr);
    }
    CHECK_FALSE(traits_of(GgmlType::IQ2_XXS).supported);
    CHECK(traits_of(GgmlType::IQ2_XXS).to_float == nullptr);
    CHECK_FALSE(traits_of(GgmlType::I32).supported);
}

TEST_CASE("traits: activation type of each weight type (ggml-cpu's vec_dot_type)", "[quant][traits]") {
    CHECK(traits_of(GgmlType::F32).vec_dot_type == GgmlType::F32);
    CHECK(traits_of(GgmlType::F16).vec_dot_type == GgmlType::F16);
    CHECK(traits_of(GgmlType::BF16).vec_dot_type == GgmlType::BF16);
    CHECK(traits_of(GgmlType::Q4_0).vec_dot_type == GgmlType::Q8_0);
    CHECK(traits_of(GgmlType::Q4_1).vec_dot_type == GgmlType::Q8_1);
    CHECK(traits_of(GgmlType::Q5_0).vec_dot_type == GgmlType::Q8_0);
    CHECK(traits_of(GgmlType::Q5_1).vec_dot_type == GgmlType::Q8_1);
    CHECK(traits_of(GgmlType::Q8_0).vec_dot_type == GgmlType::Q8_0);
    for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K})
        CHECK(traits_of(t).vec_dot_type == GgmlType::Q8_K);
}
