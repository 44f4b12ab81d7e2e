#include "examples/perplexity/progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace moecpu::tools {

ProgressLine::ProgressLine(std::string label, size_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressLine::update(size_t done) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = elapsed > 0 ? double(done) / elapsed : 0.0;
    const double eta = rate > 0 ? double(total_ - done) / rate : 0.0;
    const int decile = total_ ? int(10 * done / total_) : 10;
    if (!tty_ && decile == last_decile_) return;
    last_decile_ = decile;
    std::fprintf(stderr, "%s%s: %zu/%zu %s, %.1f %s/s, ETA %.0f s%s", tty_ ? "\r" : "", label_.c_str(), done, total_,
                 unit_.c_str(), rate, unit_.c_str(), eta, tty_ ? "   " : "\n");
    std::fflush(stderr);
}

void ProgressLine::finish() {
    if (tty_) std::fputc('\n', stderr);
}

}  // namespace moecpu::tools
