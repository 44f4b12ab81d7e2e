// Reads a vocabulary from GGUF `tokenizer.ggml.*` keys, as llama.cpp's converter writes them.
#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "lib/src/vocab.h"

namespace moecpu {

namespace {

const gguf::Value& require_array(const gguf::Reader& r, const char* key, gguf::ValueType elem) {
    const gguf::Value* v = r.find(key);
    if (!v) fail(MOECPU_ERR_BAD_FORMAT, r.path() + ": missing key '" + key + "'");
    if (v->type != gguf::ValueType::ARRAY || v->array_type != elem)
        fail(MOECPU_ERR_BAD_FORMAT, r.path() + ": key '" + key + "' must be an array of " +
                                        gguf::value_type_name(elem));
    return *v;
}

int32_t optional_id(const gguf::Reader& r, const char* key) {
    if (!r.has(key)) return -1;
    const int64_t v = r.get_i64(key, -1);
    return v < 0 || v > INT32_MAX ? -1 : int32_t(v);
}

}  // namespace

VocabData read_vocab_gguf(const gguf::Reader& r) {
    VocabData d;
    const std::string model = r.get_string("tokenizer.ggml.model");
    if (model != "gpt2")
        fail(MOECPU_ERR_UNSUPPORTED, r.path() + ": tokenizer model '" + model +
                                         "' is not supported (moecpu reads byte-level BPE, 'gpt2')");
    for (const gguf::Value& v : require_array(r, "tokenizer.ggml.tokens", gguf::ValueType::STRING).array)
        d.tokens.push_back(v.str);
    if (const gguf::Value* types = r.find("tokenizer.ggml.token_type")) {
        if (types->type != gguf::ValueType::ARRAY || types->array.size() != d.tokens.size())
            fail(MOECPU_ERR_BAD_FORMAT, r.path() + ": tokenizer.ggml.token_type must be an array with one entry per token");
        for (const gguf::Value& v : types->array) {
            const int64_t t = v.as_i64();
            d.types.push_back(t >= 0 && t <= 6 ? TokenType(t) : TokenType::Normal);
        }
    }
    if (r.has("tokenizer.ggml.merges"))
        for (const gguf::Value& v : require_array(r, "tokenizer.ggml.merges", gguf::ValueType::STRING).array)
            d.merges.push_back(v.str);
    d.pre = r.get_string("tokenizer.ggml.pre", "default");
    d.bos = optional_id(r, "tokenizer.ggml.bos_token_id");
    d.eos = optional_id(r, "tokenizer.ggml.eos_token_id");
    d.pad = optional_id(r, "tokenizer.ggml.padding_token_id");
    d.add_bos = r.get_bool("tokenizer.ggml.add_bos_token", d.bos >= 0);
    d.add_eos = r.get_bool("tokenizer.ggml.add_eos_token", false);
    d.chat_template = r.get_string("tokenizer.chat_template", "");
    return d;
}

}  // namespace moecpu
