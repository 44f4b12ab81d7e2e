// Pre-tokenization: splits text into pieces before BPE, as Hugging Face's `Sequence` of
// `Split(behavior=Isolated)` steps does: each regex splits every piece of the previous step into
// its matches and the gaps between them. Compiled once per vocabulary (PCRE2, UTF + Unicode
// properties, JIT when available).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moecpu {

class PreTokenizer {
public:
    // Known names (GGUF `tokenizer.ggml.pre`): "deepseek-v3", "deepseek-llm", "gpt2"/"default".
    // Throws Error(UNSUPPORTED) for other names.
    static std::unique_ptr<PreTokenizer> for_name(const std::string& name);
    explicit PreTokenizer(const std::vector<std::string>& regexes);
    ~PreTokenizer();
    PreTokenizer(const PreTokenizer&) = delete;
    PreTokenizer& operator=(const PreTokenizer&) = delete;

    // text must be valid UTF-8. Appends the pieces (views into text) in order.
    void split(std::string_view text, std::vector<std::string_view>& pieces) const;

private:
    struct Compiled;
    std::vector<std::unique_ptr<Compiled>> steps_;
};

}  // namespace moecpu
