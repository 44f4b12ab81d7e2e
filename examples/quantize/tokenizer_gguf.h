// Hugging Face byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json) -> the GGUF
// `tokenizer.*` keys llama.cpp's converter writes for DeepSeek (its `_set_vocab_gpt2` path):
//   tokenizer.ggml.model "gpt2", tokenizer.ggml.pre, tokenizer.ggml.tokens / token_type / merges,
//   tokenizer.ggml.{bos,eos,unknown,seperator,padding,mask}_token_id (those that are set),
//   tokenizer.ggml.add_{bos,eos,sep}_token (those tokenizer_config.json states),
//   tokenizer.chat_template.
// Token types follow llama.cpp: ordinary vocabulary 1 (normal); added tokens 3 (control) when
// special or shaped like "<|...|>" / "<｜...｜>", else 4 (user-defined); ids up to vocab_size that
// no token uses become "[PAD<id>]" with type 5 (unused).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/src/gguf.h"

namespace moecpu::convert {

class HfCheckpoint;

constexpr int32_t kTokenNormal = 1;
constexpr int32_t kTokenControl = 3;
constexpr int32_t kTokenUserDefined = 4;
constexpr int32_t kTokenUnused = 5;

// The llama.cpp pre-tokenizer name for a tokenizer.json `pre_tokenizer` object: "deepseek-v3" for
// DeepSeek-V3's three Split regexes, "deepseek-llm" for DeepSeek(-V2)'s LLM splits; "" if not
// recognised.
std::string recognise_pre_tokenizer(const nlohmann::json& pre_tokenizer);

// Keys for the tokenizer of `ckpt` (vocab_size from config.json). `pre_override`, when not empty,
// names the pre-tokenizer instead of recognising it. Throws Error naming the file on an
// unsupported tokenizer (not byte-level BPE, unrecognised pre-tokenizer) or inconsistent ids.
std::vector<gguf::KeyValue> tokenizer_keys(const HfCheckpoint& ckpt, int64_t vocab_size, const std::string& pre_override);

}  // namespace moecpu::convert
