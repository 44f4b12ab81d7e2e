// Prints generated text, keeping a reasoning model's <think> … </think> section apart from the
// answer: dimmed on a terminal, or hidden (with a one-line marker on stderr) when asked.
#pragma once
#include <cstdio>
#include <string>

namespace moecpu::cli {

class ReasoningStream {
public:
    ReasoningStream(std::FILE* out, bool show_reasoning);
    // Call before a reply whose prompt already opened the reasoning (R1's "<think>\n").
    void begin_reply(bool starts_in_reasoning);
    void write(const char* piece, size_t len);
    void end_reply();  // closes any open styling, newline
    const std::string& answer() const { return answer_; }      // text after </think>
    const std::string& full_text() const { return full_; }     // everything generated

private:
    void set_reasoning(bool on);
    std::FILE* out_;
    bool show_, tty_, in_reasoning_ = false;
    std::string answer_, full_;
};

}  // namespace moecpu::cli
