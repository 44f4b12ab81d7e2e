// Byte-level BPE vocabulary (GPT-2 style, as DeepSeek-V3/R1 use): special tokens matched as
// wholes first, then the pre-tokenizer's pieces, then BPE merges by rank within each piece.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/src/pretokenizer.h"

namespace moecpu {

namespace gguf { class Reader; }

// llama.cpp's token types (GGUF `tokenizer.ggml.token_type`).
enum class TokenType : int32_t {
    Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

// Everything a vocabulary is built from; read from GGUF `tokenizer.ggml.*` keys.
struct VocabData {
    std::vector<std::string> tokens;   // BPE tokens spelled with the byte-to-unicode map; added tokens raw
    std::vector<TokenType> types;      // same length as tokens (Normal when absent)
    std::vector<std::string> merges;   // "left right", highest priority first
    std::string pre = "default";       // pre-tokenizer name
    int32_t bos = -1, eos = -1, pad = -1;
    bool add_bos = false, add_eos = false;
    std::string chat_template;
};

// Reads the `tokenizer.ggml.*` keys (model must be "gpt2"); errors name the file and key.
VocabData read_vocab_gguf(const gguf::Reader& reader);

class Vocab {
public:
    explicit Vocab(VocabData data);  // throws Error(BAD_FORMAT) on inconsistent data

    int32_t n_tokens() const { return int32_t(data_.tokens.size()); }
    int32_t bos() const { return data_.bos; }
    int32_t eos() const { return data_.eos; }
    bool add_bos() const { return data_.add_bos; }
    const std::string& chat_template() const { return data_.chat_template; }
    TokenType type(int32_t id) const { return data_.types[size_t(id)]; }
    const std::string& token_text(int32_t id) const { return data_.tokens[size_t(id)]; }
    int32_t find_token(std::string_view text) const;  // exact vocabulary entry, -1 if none

    // Invalid UTF-8 in text is replaced by U+FFFD (Hugging Face tokenizers only see valid
    // strings). User-defined added tokens (e.g. <think>) are always matched as wholes; control
    // tokens (BOS, EOS) only when parse_special is set.
    void tokenize(std::string_view text, bool add_bos, bool parse_special, std::vector<int32_t>& out) const;
    // Raw bytes of a token (possibly a partial UTF-8 sequence); control tokens give their text.
    std::string token_to_piece(int32_t id) const;
    std::string detokenize(const std::vector<int32_t>& ids) const;

private:
    void bpe_piece(std::string_view piece, std::vector<int32_t>& out) const;
    int merge_rank(std::string_view left, std::string_view right) const;

    VocabData data_;
    std::unique_ptr<PreTokenizer> pre_;
    std::unordered_map<std::string, int32_t> token_ids_;
    std::unordered_map<std::string, int32_t> merge_ranks_;  // key "left right"
    std::vector<std::string> pieces_;                        // decoded bytes per token
    // Added tokens matched as wholes, longest first, bucketed by their first byte.
    std::vector<std::vector<int32_t>> added_by_first_byte_;
};

}  // namespace moecpu
