// Older deepseek2 GGUF files (llama.cpp before the split MLA tensors) store one `attn_kv_b`
// instead of `attn_k_b` + `attn_v_b`, and per-head key/value lengths without the *_mla keys.
// Rewriting the converted fixture into that layout must give the same logits.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "lib/src/gguf.h"
#include "tests/model/model_fixtures.h"

using namespace moecpu;
using namespace moecpu::test;

namespace {

// Writes `src` (an F32 split-layout file) to `dst` with attn_kv_b [H*(nope+v)][kv_lora].
void rewrite_as_kv_b(const std::string& src, const std::string& dst) {
    auto r = gguf::Reader::open(src);
    const int64_t H = r->get_i64("deepseek2.attention.head_count", 0);
    const int64_t kvl = r->get_i64("deepseek2.attention.kv_lora_rank", 0);
    const int64_t qk = r->get_i64("deepseek2.attention.key_length_mla", 0);
    const int64_t v = r->get_i64("deepseek2.attention.value_length_mla", 0);
    const int64_t rope = r->get_i64("deepseek2.rope.dimension_count", 0);
    const int64_t nope = qk - rope;
    REQUIRE(H > 0);

    gguf::Writer w(dst);
    for (const gguf::KeyValue& kv : r->kvs()) {
        if (kv.key.find("_mla") != std::string::npos) continue;
        if (kv.key == "deepseek2.attention.key_length") w.set(kv.key, gguf::Value::make_u32(uint32_t(qk)));
        else if (kv.key == "deepseek2.attention.value_length") w.set(kv.key, gguf::Value::make_u32(uint32_t(v)));
        else w.set(kv.key, kv.value);
    }
    for (const gguf::TensorInfo& t : r->tensors()) {
        if (t.name.find("attn_v_b") != std::string::npos) continue;
        if (t.name.find("attn_k_b") != std::string::npos) {
            const int64_t ne[2] = {kvl, H * (nope + v)};
            w.add_tensor(t.name.substr(0, t.name.find("attn_k_b")) + "attn_kv_b.weight", GgmlType::F32, 2, ne);
        } else {
            w.add_tensor(t.name, t.type, t.n_dims, t.ne);
        }
    }
    for (const gguf::TensorInfo& t : r->tensors()) {
        if (t.name.find("attn_v_b") != std::string::npos) continue;
        if (t.name.find("attn_k_b") == std::string::npos) {
            w.write_tensor_data(t.data, t.n_bytes);
            continue;
        }
        const std::string prefix = t.name.substr(0, t.name.find("attn_k_b"));
        const gguf::TensorInfo* vb = r->find_tensor(prefix + "attn_v_b.weight");
        REQUIRE(vb != nullptr);
        REQUIRE(t.type == GgmlType::F32);
        const float* k_b = reinterpret_cast<const float*>(t.data);    // [H][kvl][nope]
        const float* v_b = reinterpret_cast<const float*>(vb->data);  // [H][v][kvl]
        std::vector<float> kv_b(size_t(H * (nope + v) * kvl));        // [H][nope + v][kvl]
        for (int64_t h = 0; h < H; ++h) {
            for (int64_t j = 0; j < nope; ++j)
                for (int64_t c = 0; c < kvl; ++c)
                    kv_b[size_t((h * (nope + v) + j) * kvl + c)] = k_b[(h * kvl + c) * nope + j];
            for (int64_t j = 0; j < v; ++j)
                std::memcpy(&kv_b[size_t((h * (nope + v) + nope + j) * kvl)], &v_b[(h * v + j) * kvl], size_t(kvl) * 4);
        }
        w.write_tensor_data(kv_b.data(), kv_b.size() * sizeof(float));
    }
    w.finish();
}

}  // namespace

TEST_CASE("the older attn_kv_b layout loads and gives the reference logits", "[model]") {
    const std::string split = converted_fixture("tiny-ds3", "f32");
    const std::string merged = split + ".kv_b.gguf";
    rewrite_as_kv_b(split, merged);
    {
        auto r = gguf::Reader::open(merged);
        CHECK(r->find_tensor("blk.0.attn_kv_b.weight") != nullptr);
        CHECK(r->find_tensor("blk.0.attn_k_b.weight") == nullptr);
    }
    Model m(merged);
    size_t n_tokens = 0, n_vocab = 0;
    const auto ref = reference_logits("tiny-ds3", 1, &n_tokens, &n_vocab);
    const auto seq = reference_sequences("tiny-ds3")[1];
    Context ctx(m.m, 128, 64, true);
    REQUIRE(moecpu_eval(ctx.c, seq.tokens.data(), seq.tokens.size()) == MOECPU_OK);
    double max_abs = 0;
    for (size_t i = 0; i < n_tokens; ++i) {
        const float* got = moecpu_get_logits(ctx.c, int32_t(i));
        for (size_t j = 0; j < n_vocab; ++j) max_abs = std::max(max_abs, double(std::fabs(got[j] - ref[i * n_vocab + j])));
    }
    INFO("attn_kv_b layout: max abs logit diff " << max_abs);
    CHECK(max_abs <= 1e-4);
    std::filesystem::remove(merged);
}
