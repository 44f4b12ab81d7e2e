// GGUF files written by llama.cpp's own quantizer (tests/data/llamacpp: Q4_K_M and Q2_K of the
// tiny model, with llama.cpp's tensor and key order and its fallback types q5_0 / q4_0 / q3_K /
// q6_K) load and stay as close to DeepSeek's reference as their bits allow. Measured when they
// were made: moecpu's logits on these files equal llama.cpp's own to ~4e-6 on the short sequences.
#include <catch2/catch.hpp>

#include "tests/model/model_fixtures.h"

using namespace moecpu::test;

TEST_CASE("llama.cpp-written Q4_K_M and Q2_K files load and track the reference", "[model][llamacpp]") {
    const std::string dir = std::string(MOECPU_TEST_DATA_DIR) + "/llamacpp/";
    const ReferenceQuality q4 = quality_against_reference(dir + "tiny-ds3-q4_k_m.gguf");
    const ReferenceQuality q2 = quality_against_reference(dir + "tiny-ds3-q2_k.gguf");
    INFO("Q4_K_M: mean KL " << q4.kl_mean << ", top-1 " << q4.agree << "/" << q4.total);
    INFO("Q2_K:   mean KL " << q2.kl_mean << ", top-1 " << q2.agree << "/" << q2.total);
    // llama.cpp itself agrees on top-1 at 168/178 (Q4_K_M) and 157/178 (Q2_K) on these files.
    CHECK(q4.non_finite == 0);
    CHECK(q2.non_finite == 0);
    CHECK(q4.agree >= 160);
    CHECK(q2.agree >= 145);
    CHECK(q4.kl_mean < 0.05);
    CHECK(q2.kl_mean < 0.2);
    CHECK(q4.kl_mean < q2.kl_mean);  // more bits, closer to the reference
}
