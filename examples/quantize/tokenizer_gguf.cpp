// tokenizer.json / tokenizer_config.json -> GGUF tokenizer keys (see tokenizer_gguf.h).
#include "examples/quantize/tokenizer_gguf.h"

#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <unordered_map>

#include "examples/quantize/hf_checkpoint.h"
#include "lib/src/error.h"

namespace moecpu::convert {

namespace {

using json = nlohmann::json;
using gguf::Value;

// DeepSeek-V3's pre-tokenizer: three Split(Isolated) steps, in this order.
const std::vector<std::string> kDeepseekV3Regexes = {
    R"re(\p{N}{1,3})re",
    "[\xe4\xb8\x80-\xe9\xbe\xa5\xe3\x81\x80-\xe3\x82\x9f\xe3\x82\xa0-\xe3\x83\xbf]+",  // [一-龥぀-ゟ゠-ヿ]+
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re",
};

// The Split regexes of a pre_tokenizer (a Sequence of Splits, optionally ending in a ByteLevel
// without its own regex), or nullopt when it has another shape.
std::optional<std::vector<std::string>> split_regexes(const json& pre) {
    if (!pre.is_object() || !pre.contains("type")) return std::nullopt;
    std::vector<json> steps;
    if (pre["type"] == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
        for (const json& s : pre["pretokenizers"]) steps.push_back(s);
    } else {
        steps.push_back(pre);
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < steps.size(); ++i) {
        const json& s = steps[i];
        if (!s.is_object() || !s.contains("type")) return std::nullopt;
        if (s["type"] == "ByteLevel" && i + 1 == steps.size()) {
            if (s.value("use_regex", true)) return std::nullopt;  // GPT-2's own regex would run too
            continue;
        }
        if (s["type"] != "Split" || s.value("behavior", "") != "Isolated" || s.value("invert", false)) return std::nullopt;
        if (!s.contains("pattern") || !s["pattern"].is_object() || !s["pattern"].contains("Regex") ||
            !s["pattern"]["Regex"].is_string()) {
            return std::nullopt;
        }
        out.push_back(s["pattern"]["Regex"].get<std::string>());
    }
    return out;
}

// gguf-py's does_token_look_special for the shapes DeepSeek uses.
bool looks_special(const std::string& t) {
    auto wrapped = [&t](const std::string& open, const std::string& close) {
        return t.size() >= open.size() + close.size() && t.compare(0, open.size(), open) == 0 &&
               t.compare(t.size() - close.size(), close.size(), close) == 0;
    };
    return t == "<pad>" || t == "<mask>" || wrapped("<|", "|>") || wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") ||  // <｜ ｜>
           wrapped("<unused", ">");
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

struct AddedToken {
    int64_t id;
    std::string content;
    bool special;
};

}  // namespace

std::string recognise_pre_tokenizer(const json& pre) {
    const auto regexes = split_regexes(pre);
    if (!regexes) return "";
    if (*regexes == kDeepseekV3Regexes) return "deepseek-v3";
    // DeepSeek LLM / V2: newline split first, digits last, a trailing-whitespace split between.
    const auto& r = *regexes;
    if (r.size() >= 5 && r.front() == "[\r\n]" && r.back() == R"(\p{N}+)") {
        for (const std::string& x : r)
            if (x == R"(\s+$)") return "deepseek-llm";
    }
    return "";
}

std::vector<gguf::KeyValue> tokenizer_keys(const HfCheckpoint& ckpt, int64_t vocab_size, const std::string& pre_override) {
    const std::string tok_path = ckpt.file("tokenizer.json");
    if (!ckpt.has_file("tokenizer.json")) fail(MOECPU_ERR_IO, "'" + ckpt.dir() + "' has no tokenizer.json");
    const json tok = read_json_file(tok_path);
    const std::string where = "'" + tok_path + "'";
    if (!tok.is_object() || !tok.contains("model") || !tok["model"].is_object()) {
        fail(MOECPU_ERR_BAD_FORMAT, where + " has no 'model' object");
    }
    const json& model = tok["model"];
    const bool byte_level_decoder = tok.contains("decoder") && tok["decoder"].is_object() &&
                                    tok["decoder"].value("type", "") == "ByteLevel";
    if (model.value("type", "") != "BPE" || model.value("byte_fallback", false) || !byte_level_decoder) {
        fail(MOECPU_ERR_UNSUPPORTED, where + " is not a byte-level BPE tokenizer (the GPT-2 kind DeepSeek uses)");
    }
    if (!model.contains("vocab") || !model["vocab"].is_object()) fail(MOECPU_ERR_BAD_FORMAT, where + " has no model.vocab");

    // id -> token text, from the vocabulary and the added tokens.
    std::map<int64_t, std::string> by_id;
    auto put = [&](int64_t id, const std::string& text) {
        if (id < 0 || id >= vocab_size) {
            fail(MOECPU_ERR_BAD_FORMAT, where + ": token '" + text + "' has id " + std::to_string(id) +
                                            ", outside config.json's vocab_size " + std::to_string(vocab_size));
        }
        auto [it, inserted] = by_id.emplace(id, text);
        if (!inserted && it->second != text) {
            fail(MOECPU_ERR_BAD_FORMAT, where + ": id " + std::to_string(id) + " is both '" + it->second + "' and '" + text + "'");
        }
    };
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
        if (!it.value().is_number_integer()) fail(MOECPU_ERR_BAD_FORMAT, where + ": vocab entry '" + it.key() + "' has no integer id");
        put(it.value().get<int64_t>(), it.key());
    }
    std::vector<AddedToken> added;
    std::unordered_map<std::string, size_t> added_by_content;
    if (tok.contains("added_tokens") && tok["added_tokens"].is_array()) {
        for (const json& a : tok["added_tokens"]) {
            if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
                !a["content"].is_string()) {
                fail(MOECPU_ERR_BAD_FORMAT, where + ": an added_tokens entry lacks an integer id or a content string");
            }
            AddedToken t{a["id"].get<int64_t>(), a["content"].get<std::string>(), a.value("special", false)};
            put(t.id, t.content);
            added_by_content.emplace(t.content, added.size());
            added.push_back(std::move(t));
        }
    }

    std::vector<std::string> tokens(static_cast<size_t>(vocab_size));
    std::vector<int32_t> types(static_cast<size_t>(vocab_size));
    for (int64_t id = 0; id < vocab_size; ++id) {
        auto it = by_id.find(id);
        if (it == by_id.end()) {
            tokens[id] = "[PAD" + std::to_string(id) + "]";
            types[id] = kTokenUnused;
            continue;
        }
        std::string text = it->second;
        auto a = added_by_content.find(text);
        if (a == added_by_content.end()) {
            types[id] = kTokenNormal;
        } else if (added[a->second].special || looks_special(text)) {
            types[id] = kTokenControl;
        } else {
            replace_all(text, "\xe2\x96\x81", " ");  // llama.cpp pre-normalizes "▁" in user-defined tokens
            types[id] = kTokenUserDefined;
        }
        tokens[id] = std::move(text);
    }

    std::vector<std::string> merges;
    if (model.contains("merges") && model["merges"].is_array()) {
        for (const json& m : model["merges"]) {
            if (m.is_string()) {
                merges.push_back(m.get<std::string>());
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                // transformers >= 4.45 pair form; spaces inside a part become U+0120 as in gguf-py.
                std::string l = m[0].get<std::string>(), r = m[1].get<std::string>();
                replace_all(l, " ", "\xc4\xa0");
                replace_all(r, " ", "\xc4\xa0");
                merges.push_back(l + " " + r);
            } else {
                fail(MOECPU_ERR_BAD_FORMAT, where + ": model.merges has an entry that is neither \"a b\" nor [a, b]");
            }
        }
    }
    if (merges.empty()) fail(MOECPU_ERR_BAD_FORMAT, where + " has no BPE merges");

    std::string pre = pre_override;
    if (pre.empty()) {
        pre = recognise_pre_tokenizer(tok.value("pre_tokenizer", json()));
        if (pre.empty()) {
            fail(MOECPU_ERR_UNSUPPORTED, where + ": the pre_tokenizer is not one moe-quantize recognises (DeepSeek-V3's or "
                                                 "DeepSeek-LLM's Split regexes); name it with --tokenizer-pre NAME");
        }
    }

    std::vector<gguf::KeyValue> kv;
    kv.push_back({"tokenizer.ggml.model", Value::make_string("gpt2")});
    kv.push_back({"tokenizer.ggml.pre", Value::make_string(pre)});
    kv.push_back({"tokenizer.ggml.tokens", Value::make_string_array(tokens)});
    kv.push_back({"tokenizer.ggml.token_type", Value::make_i32_array(types)});
    kv.push_back({"tokenizer.ggml.merges", Value::make_string_array(merges)});

    // Special tokens as gguf-py's SpecialVocab finds them: tokenizer_config.json's "<typ>_token"
    // content looked up among the added tokens, then config.json's "<typ>_token_id".
    json tcfg;
    const bool has_tcfg = ckpt.has_file("tokenizer_config.json");
    if (has_tcfg) tcfg = read_json_file(ckpt.file("tokenizer_config.json"));
    if (has_tcfg && !tcfg.is_object()) fail(MOECPU_ERR_BAD_FORMAT, "'" + ckpt.file("tokenizer_config.json") + "' is not an object");
    struct SpecialKind {
        const char* typ;
        const char* id_key;
        const char* add_key;
    };
    const SpecialKind kinds[] = {
        {"bos", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.add_bos_token"},
        {"eos", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_eos_token"},
        {"unk", "tokenizer.ggml.unknown_token_id", nullptr},
        {"sep", "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.add_sep_token"},
        {"pad", "tokenizer.ggml.padding_token_id", nullptr},
        {"mask", "tokenizer.ggml.mask_token_id", nullptr},
    };
    std::vector<gguf::KeyValue> ids, adds;
    for (const SpecialKind& k : kinds) {
        std::optional<int64_t> id;
        const std::string key = std::string(k.typ) + "_token";
        if (has_tcfg && tcfg.contains(key)) {
            const json& e = tcfg[key];
            std::string content;
            if (e.is_string()) content = e.get<std::string>();
            if (e.is_object() && e.contains("content") && e["content"].is_string()) content = e["content"].get<std::string>();
            if (!content.empty()) {
                auto a = added_by_content.find(content);
                if (a != added_by_content.end()) id = added[a->second].id;
            }
        }
        if (!id) {
            auto from_config = ckpt.find_int(std::string(k.typ) + "_token_id");
            if (from_config && *from_config >= 0 && *from_config < vocab_size) id = *from_config;
        }
        if (id) ids.push_back({k.id_key, Value::make_u32(static_cast<uint32_t>(*id))});
        const std::string add_key = "add_" + std::string(k.typ) + "_token";
        if (k.add_key && has_tcfg && tcfg.contains(add_key) && tcfg[add_key].is_boolean()) {
            adds.push_back({k.add_key, Value::make_bool(tcfg[add_key].get<bool>())});
        }
    }
    kv.insert(kv.end(), ids.begin(), ids.end());
    kv.insert(kv.end(), adds.begin(), adds.end());

    // Chat template: tokenizer_config.json, else chat_template.jinja / chat_template.json.
    json tmpl;
    if (has_tcfg && tcfg.contains("chat_template")) tmpl = tcfg["chat_template"];
    if (tmpl.is_null() && ckpt.has_file("chat_template.jinja")) {
        std::ifstream in(ckpt.file("chat_template.jinja"), std::ios::binary);
        tmpl = std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else if (tmpl.is_null() && ckpt.has_file("chat_template.json")) {
        const json ct = read_json_file(ckpt.file("chat_template.json"));
        if (ct.is_object() && ct.contains("chat_template")) tmpl = ct["chat_template"];
    }
    if (tmpl.is_string()) {
        kv.push_back({"tokenizer.chat_template", Value::make_string(tmpl.get<std::string>())});
    } else if (tmpl.is_array()) {
        // Named templates: "default" is the main one, others get their own key (as gguf-py).
        std::vector<std::string> names;
        for (const json& t : tmpl) {
            if (!t.is_object() || !t.contains("name") || !t.contains("template") || !t["name"].is_string() ||
                !t["template"].is_string()) {
                continue;
            }
            const std::string name = t["name"].get<std::string>();
            if (name == "default") {
                kv.push_back({"tokenizer.chat_template", Value::make_string(t["template"].get<std::string>())});
            } else {
                kv.push_back({"tokenizer.chat_template." + name, Value::make_string(t["template"].get<std::string>())});
                names.push_back(name);
            }
        }
        if (!names.empty()) kv.push_back({"tokenizer.chat_templates", Value::make_string_array(names)});
    }
    return kv;
}

}  // namespace moecpu::convert
