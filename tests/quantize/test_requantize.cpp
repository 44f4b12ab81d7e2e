// GGUF input: requantizing an F32 or BF16 GGUF gives the same bytes as quantizing from the
// Hugging Face checkpoint; already-quantized tensors are protected unless allowed.
#include <catch2/catch.hpp>

#include <filesystem>

#include "examples/quantize/gguf_requantize.h"
#include "examples/quantize/hf_to_gguf.h"
#include "examples/quantize/tensor_type_policy.h"
#include "convert_test_util.h"
#include "lib/src/gguf.h"
#include "quant_test_util.h"

using namespace moecpu;
using namespace moecpu::convert;

namespace {

std::string requantize(const std::string& in, const std::string& type, const std::string& out_name, bool allow = false) {
    RequantizeOptions o;
    o.input_path = in;
    o.output_path = test::scratch_file(out_name);
    o.allow_requantize = allow;
    o.log = nullptr;
    requantize_gguf(o, *make_type_policy(type));
    return o.output_path;
}

}  // namespace

TEST_CASE("requantizing an F32 or BF16 GGUF matches quantizing the checkpoint", "[quantize]") {
    for (const char* type : {"Q4_K_M", "MOE_Q2_K", "q5_1"}) {
        INFO(type);
        const std::string from_hf = test::tiny_gguf(type);
        const std::string from_f32 = requantize(test::tiny_gguf("f32"), type, std::string("rq-f32-") + type + ".gguf");
        const std::string from_bf16 = requantize(test::tiny_gguf("bf16"), type, std::string("rq-bf16-") + type + ".gguf");
        CHECK(test::files_equal(from_hf, from_f32));
        CHECK(test::files_equal(from_hf, from_bf16));
    }
    // Same type in, same type out: a byte copy.
    CHECK(test::files_equal(test::tiny_gguf("bf16"), requantize(test::tiny_gguf("bf16"), "bf16", "rq-same.gguf")));
}

TEST_CASE("already-quantized tensors are not requantized unless allowed", "[quantize]") {
    const std::string q4 = test::tiny_gguf("Q4_K_M");
    const std::string out = test::scratch_file("rq-refused.gguf");
    RequantizeOptions o;
    o.input_path = q4;
    o.output_path = out;
    o.log = nullptr;
    CHECK_THROWS_WITH(requantize_gguf(o, *make_type_policy("Q2_K")), Catch::Contains("--allow-requantize"));
    CHECK_FALSE(std::filesystem::exists(out));
    const std::string allowed = requantize(q4, "Q2_K", "rq-allowed.gguf", true);
    const auto r = gguf::Reader::open(allowed);
    CHECK(r->find_tensor("blk.1.ffn_up_exps.weight")->type == GgmlType::Q2_K);
    CHECK(r->get_u64("general.file_type", 0) == 10);
    // Dequantizing to a float type is always allowed.
    CHECK_NOTHROW(requantize(q4, "f32", "rq-f32-from-q4.gguf"));
}
