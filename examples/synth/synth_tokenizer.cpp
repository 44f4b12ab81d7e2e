#include "examples/synth/synth_tokenizer.h"

#include <string>

#include "lib/src/utf8.h"
#include "lib/src/vocab.h"

namespace moecpu::synth {

std::vector<gguf::KeyValue> synth_tokenizer_keys(int64_t n_vocab) {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    tokens.reserve(size_t(n_vocab));
    types.reserve(size_t(n_vocab));
    auto add = [&](std::string text, TokenType type) {
        tokens.push_back(std::move(text));
        types.push_back(int32_t(type));
    };
    // Specials first, as DeepSeek-V3 numbers BOS 0 and EOS 1.
    add("<｜begin▁of▁sentence｜>", TokenType::Control);
    add("<｜end▁of▁sentence｜>", TokenType::Control);
    add("<｜User｜>", TokenType::UserDefined);
    add("<｜Assistant｜>", TokenType::UserDefined);
    add("<think>", TokenType::UserDefined);
    add("</think>", TokenType::UserDefined);
    // Every byte as its GPT-2 byte-level symbol, so any text tokenizes (without merges, one
    // token per byte).
    for (int b = 0; b < 256; ++b) {
        const char c = char(b);
        add(bytes_to_bpe_symbols(std::string_view(&c, 1)), TokenType::Normal);
    }
    for (int64_t i = int64_t(tokens.size()); i < n_vocab; ++i)
        add("<｜synth▁unused▁" + std::to_string(i) + "｜>", TokenType::Unused);

    std::vector<gguf::KeyValue> kv;
    kv.push_back({"tokenizer.ggml.model", gguf::Value::make_string("gpt2")});
    kv.push_back({"tokenizer.ggml.pre", gguf::Value::make_string("deepseek-v3")});
    kv.push_back({"tokenizer.ggml.tokens", gguf::Value::make_string_array(tokens)});
    kv.push_back({"tokenizer.ggml.token_type", gguf::Value::make_i32_array(types)});
    kv.push_back({"tokenizer.ggml.merges", gguf::Value::make_string_array({})});
    kv.push_back({"tokenizer.ggml.bos_token_id", gguf::Value::make_u32(0)});
    kv.push_back({"tokenizer.ggml.eos_token_id", gguf::Value::make_u32(1)});
    kv.push_back({"tokenizer.ggml.padding_token_id", gguf::Value::make_u32(1)});
    kv.push_back({"tokenizer.ggml.add_bos_token", gguf::Value::make_bool(true)});
    kv.push_back({"tokenizer.ggml.add_eos_token", gguf::Value::make_bool(false)});
    return kv;
}

}  // namespace moecpu::synth
