// Errors are ordered as the bits are: on the tiny model, KL divergence against the F32 model
// grows from Q8_0 to Q4_K_M to Q3_K_M to Q2_K, each within a stated bound.
#include <catch2/catch.hpp>

#include "quant_test_util.h"

using namespace moecpu;

TEST_CASE("KL divergence is ordered as the bits are", "[quantize][quality]") {
    const std::string base = test::tiny_gguf("f32");
    const auto tokens = test::text_tokens(base);
    struct Row {
        const char* type;
        double max_kl;  // bound in nats (several times the value measured on the fixture)
    };
    const Row rows[] = {{"q8_0", 0.002}, {"Q4_K_M", 0.01}, {"Q3_K_M", 0.02}, {"Q2_K", 0.06}};
    double previous = 0;
    for (const Row& r : rows) {
        const double kl = test::mean_kl(base, test::tiny_gguf(r.type), tokens, 0, 64, 4);
        INFO(r.type << ": KL " << kl);
        CHECK(kl > previous);
        CHECK(kl < r.max_kl);
        previous = kl;
    }
}
