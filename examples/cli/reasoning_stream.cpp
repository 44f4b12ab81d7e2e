#include "examples/cli/reasoning_stream.h"

#include <unistd.h>

#include <cstring>

namespace moecpu::cli {

namespace {
constexpr const char* kDim = "\033[2m";
constexpr const char* kReset = "\033[0m";
}  // namespace

ReasoningStream::ReasoningStream(std::FILE* out, bool show_reasoning)
    : out_(out), show_(show_reasoning), tty_(isatty(fileno(out)) != 0) {}

void ReasoningStream::begin_reply(bool starts_in_reasoning) {
    answer_.clear();
    full_.clear();
    in_reasoning_ = false;
    if (starts_in_reasoning) set_reasoning(true);
}

void ReasoningStream::set_reasoning(bool on) {
    if (on == in_reasoning_) return;
    in_reasoning_ = on;
    if (show_) {
        if (tty_) std::fputs(on ? kDim : kReset, out_);
        std::fputs(on ? "<think>\n" : "</think>\n", out_);
    } else if (on) {
        std::fputs("[thinking …]\n", stderr);
    }
    std::fflush(out_);
}

void ReasoningStream::write(const char* piece, size_t len) {
    const std::string text(piece, len);
    full_ += text;
    if (text == "<think>") return set_reasoning(true);
    if (text == "</think>") return set_reasoning(false);
    if (in_reasoning_ && !show_) return;
    if (!in_reasoning_) answer_ += text;
    std::fwrite(piece, 1, len, out_);
    std::fflush(out_);
}

void ReasoningStream::end_reply() {
    if (in_reasoning_ && show_ && tty_) std::fputs(kReset, out_);
    in_reasoning_ = false;
    std::fputc('\n', out_);
    std::fflush(out_);
}

}  // namespace moecpu::cli
