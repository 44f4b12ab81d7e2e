// A small valid byte-level BPE vocabulary for synthetic models: the 256 byte tokens, DeepSeek's
// special tokens, then unused filler tokens up to the embedding's row count.
#pragma once
#include <cstdint>
#include <vector>

#include "lib/src/gguf.h"

namespace moecpu::synth {

// The `tokenizer.ggml.*` keys for a vocabulary of exactly n_vocab tokens (n_vocab >= 300).
std::vector<gguf::KeyValue> synth_tokenizer_keys(int64_t n_vocab);

}  // namespace moecpu::synth
