// Tokenizer checks against the token ids that DeepSeek's tokenizer produced for the fixture texts.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lib/src/utf8.h"
#include "lib/src/vocab.h"

using namespace moecpu;
using json = nlohmann::json;

namespace {

json load_json(const std::string& path) {
    std::ifstream f(path);
    REQUIRE(f.good());
    return json::parse(f);
}

// Builds the vocabulary the way the converter turns tokenizer.json into GGUF keys.
const Vocab& fixture_vocab() {
    static const Vocab vocab = [] {
        const json t = load_json(std::string(MOECPU_TEST_DATA_DIR) + "/tiny-ds3/tokenizer.json");
        VocabData d;
        size_t n = t["model"]["vocab"].size() + 0;
        for (const auto& a : t["added_tokens"]) n = std::max<size_t>(n, a["id"].get<size_t>() + 1);
        d.tokens.resize(n);
        d.types.assign(n, TokenType::Normal);
        for (const auto& [text, id] : t["model"]["vocab"].items()) d.tokens[id.get<size_t>()] = text;
        for (const auto& a : t["added_tokens"]) {
            const size_t id = a["id"].get<size_t>();
            d.tokens[id] = a["content"].get<std::string>();
            d.types[id] = a["special"].get<bool>() ? TokenType::Control : TokenType::UserDefined;
        }
        for (const auto& m : t["model"]["merges"]) d.merges.push_back(m.get<std::string>());
        d.pre = "deepseek-v3";
        d.bos = 0;
        d.eos = 1;
        d.add_bos = true;
        return Vocab(std::move(d));
    }();
    return vocab;
}

std::vector<int32_t> encode(const std::string& text, bool add_bos = true, bool special = true) {
    std::vector<int32_t> ids;
    fixture_vocab().tokenize(text, add_bos, special, ids);
    return ids;
}

}  // namespace

TEST_CASE("tokenizer reproduces the reference ids of the fixture sequences", "[tokenizer]") {
    const json m = load_json(std::string(MOECPU_TEST_DATA_DIR) + "/tiny-ds3/reference/manifest.json");
    for (const auto& seq : m["sequences"]) {
        INFO(seq["name"].get<std::string>());
        CHECK(encode(seq["text"].get<std::string>()) == seq["token_ids"].get<std::vector<int32_t>>());
    }
    CHECK(encode(m["greedy"]["prompt"].get<std::string>()) == m["greedy"]["prompt_ids"].get<std::vector<int32_t>>());
    std::vector<int32_t> gen = m["greedy"]["generated_ids"].get<std::vector<int32_t>>();
    CHECK(fixture_vocab().detokenize(gen) == m["greedy"]["generated_text"].get<std::string>());
}

TEST_CASE("tokenizer matches the README examples", "[tokenizer]") {
    CHECK(encode("The quick brown fox") == std::vector<int32_t>{0, 648, 804, 331, 110, 287, 292, 122, 113, 276, 114, 123});
    CHECK(encode("<｜begin▁of▁sentence｜><｜User｜>Hi there<｜Assistant｜><think>\n", false) ==
          std::vector<int32_t>{0, 1013, 75, 108, 268, 266, 1014, 1011, 13});
}

TEST_CASE("control tokens are matched only with parse_special; added tokens always", "[tokenizer]") {
    const auto plain = encode("<｜end▁of▁sentence｜><think>", false, false);
    REQUIRE(plain.size() > 2);
    CHECK(plain.back() == 1011);
    CHECK(plain.front() != 1);
    CHECK(encode("<｜end▁of▁sentence｜><think>", false, true) == std::vector<int32_t>{1, 1011});
}

TEST_CASE("detokenization is lossless on awkward text", "[tokenizer]") {
    const std::vector<std::string> texts = {
        "", " ", "   leading and trailing   ", "tabs\tand\r\nCRLF\n\n\nlines",
        "digits 1234567 and 3.14159", "日本語のテキストと漢字", "emoji 🙂🚀 mixed", "code: if (x != y) { return a[i]; }",
        "ÀÉÎõü ñ ß", "<｜User｜>hi<｜Assistant｜>", "a               b",
    };
    for (const std::string& s : texts) {
        INFO(s);
        const auto ids = encode(s, false);
        CHECK(fixture_vocab().detokenize(ids) == s);
        for (int32_t id : ids) CHECK((id >= 0 && id < fixture_vocab().n_tokens()));
    }
}

TEST_CASE("invalid UTF-8 is replaced, never crashes", "[tokenizer]") {
    const std::string bad = std::string("ok \xFF\xFE bytes \xC3") + "\x28 end \xE2\x82";
    const auto ids = encode(bad, false);
    CHECK(fixture_vocab().detokenize(ids) == sanitize_utf8(bad));
    CHECK(sanitize_utf8(bad).find("\xEF\xBF\xBD") != std::string::npos);
}

TEST_CASE("utf8 validation rejects overlong, surrogate and truncated forms", "[tokenizer]") {
    CHECK(utf8_sequence_length("\xC0\x80", 0) == 0);          // overlong NUL
    CHECK(utf8_sequence_length("\xED\xA0\x80", 0) == 0);      // surrogate
    CHECK(utf8_sequence_length("\xF4\x90\x80\x80", 0) == 0);  // past U+10FFFF
    CHECK(utf8_sequence_length("\xE2\x82", 0) == 0);          // truncated
    CHECK(utf8_sequence_length("\xE2\x82\xAC", 0) == 3);      // €
}

TEST_CASE("a very long piece tokenizes quickly", "[tokenizer]") {
    const std::string s(20000, 'a');
    const auto ids = encode(s, false);
    CHECK(fixture_vocab().detokenize(ids) == s);
}

TEST_CASE("deepseek-llm (V2) pre-tokenizer splits as its Split sequence does", "[tokenizer]") {
    auto pre = PreTokenizer::for_name("deepseek-llm");
    std::vector<std::string_view> pieces;
    pre->split("Hello world, 123 你好\n", pieces);
    const std::vector<std::string> got(pieces.begin(), pieces.end());
    CHECK(got == std::vector<std::string>{"Hello", " world", ",", " ", "123", " ", "你好", "\n"});
    CHECK_THROWS(PreTokenizer::for_name("no-such-pre-tokenizer"));
}
