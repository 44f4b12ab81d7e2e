#include "lib/src/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lib/src/error.h"

namespace moecpu {

struct PreTokenizer::Compiled {
    pcre2_code* code = nullptr;
    ~Compiled() { pcre2_code_free(code); }
};

namespace {

// DeepSeek-V3 / R1 `tokenizer.json` (llama.cpp: LLAMA_VOCAB_PRE_TYPE_DEEPSEEK3_LLM).
const std::vector<std::string> kDeepseekV3 = {
    "\\p{N}{1,3}",
    "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

// DeepSeek-LLM / V2 / V2-Lite (llama.cpp: LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM). Its second step
// lists the cased-letter ranges explicitly; \p{L&} (Lu, Ll, Lt) is the same set.
const std::vector<std::string> kDeepseekLlm = {
    "[\\r\\n]",
    "\\s?\\p{L&}+",
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
    "\\s+$",
    "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
    "\\p{N}+",
};

// GPT-2's original byte-level split (the fallback llama.cpp calls "default").
const std::vector<std::string> kGpt2 = {
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
};

}  // namespace

std::unique_ptr<PreTokenizer> PreTokenizer::for_name(const std::string& name) {
    if (name == "deepseek-v3") return std::make_unique<PreTokenizer>(kDeepseekV3);
    if (name == "deepseek-llm") return std::make_unique<PreTokenizer>(kDeepseekLlm);
    if (name == "gpt2" || name == "default" || name.empty()) return std::make_unique<PreTokenizer>(kGpt2);
    fail(MOECPU_ERR_UNSUPPORTED, "unsupported pre-tokenizer '" + name +
                                     "' (known: deepseek-v3, deepseek-llm, gpt2, default)");
}

PreTokenizer::PreTokenizer(const std::vector<std::string>& regexes) {
    for (const std::string& re : regexes) {
        int err = 0;
        PCRE2_SIZE offset = 0;
        auto step = std::make_unique<Compiled>();
        step->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
        if (!step->code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof(msg));
            fail(MOECPU_ERR_INTERNAL, "pre-tokenizer regex does not compile at offset " +
                                          std::to_string(offset) + ": " + reinterpret_cast<char*>(msg));
        }
        pcre2_jit_compile(step->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
        steps_.push_back(std::move(step));
    }
}

PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
    std::vector<std::string_view> current{text};
    std::vector<std::string_view> next;
    pcre2_match_data* md = nullptr;
    for (const auto& step : steps_) {
        if (!md) md = pcre2_match_data_create(4, nullptr);
        next.clear();
        for (std::string_view piece : current) {
            size_t pos = 0;   // start of the not-yet-emitted gap
            size_t from = 0;  // where the next search starts
            while (from <= piece.size()) {
                const int rc = pcre2_match(step->code, reinterpret_cast<PCRE2_SPTR>(piece.data()), piece.size(),
                                           from, PCRE2_NO_UTF_CHECK, md, nullptr);
                if (rc < 0) break;
                const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
                const size_t ms = ov[0], me = ov[1];
                if (me == ms) {  // empty match: step one code point forward
                    from = me + 1;
                    while (from < piece.size() && (static_cast<unsigned char>(piece[from]) & 0xC0) == 0x80) ++from;
                    continue;
                }
                if (ms > pos) next.push_back(piece.substr(pos, ms - pos));
                next.push_back(piece.substr(ms, me - ms));
                pos = from = me;
            }
            if (pos < piece.size()) next.push_back(piece.substr(pos));
        }
        current.swap(next);
    }
    if (md) pcre2_match_data_free(md);
    pieces.insert(pieces.end(), current.begin(), current.end());
}

}  // namespace moecpu
