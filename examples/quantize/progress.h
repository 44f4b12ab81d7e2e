// Conversion progress on stderr: tensors done / total, percent of bytes, MB/s and ETA. On a
// terminal the line redraws in place a few times a second; otherwise (CI logs, pipes) a plain
// line is printed at most every 10 seconds, so logs stay short.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace moecpu::convert {

class Progress {
public:
    Progress(size_t total_tensors, uint64_t total_bytes, std::FILE* out = stderr, bool enabled = true);
    ~Progress();  // ends a half-drawn terminal line (when an error interrupts the conversion)
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // `bytes` more output bytes were produced while working on tensor `name`.
    void advance(uint64_t bytes, const std::string& name);
    void tensor_done();
    void finish();  // final line

private:
    void draw(bool force);

    using Clock = std::chrono::steady_clock;
    std::FILE* out_;
    bool enabled_;
    bool tty_;
    bool line_open_ = false;  // a terminal line was drawn without its newline
    size_t total_tensors_;
    size_t done_tensors_ = 0;
    uint64_t total_bytes_;
    uint64_t done_bytes_ = 0;
    std::string current_;
    Clock::time_point start_;
    Clock::time_point last_draw_;
};

}  // namespace moecpu::convert
