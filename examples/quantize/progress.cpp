// Progress reporting (see progress.h).
#include "examples/quantize/progress.h"

#include <unistd.h>

#include <algorithm>

namespace moecpu::convert {

namespace {

std::string clock_string(double seconds) {
    const long s = static_cast<long>(std::max(0.0, seconds) + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%02ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    return buf;
}

}  // namespace

Progress::Progress(size_t total_tensors, uint64_t total_bytes, std::FILE* out, bool enabled)
    : out_(out),
      enabled_(enabled),
      tty_(enabled && ::isatty(::fileno(out)) != 0),
      total_tensors_(total_tensors),
      total_bytes_(std::max<uint64_t>(total_bytes, 1)),
      start_(Clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
    if (line_open_) std::fputc('\n', out_);
}

void Progress::advance(uint64_t bytes, const std::string& name) {
    done_bytes_ += bytes;
    current_ = name;
    draw(false);
}

void Progress::tensor_done() {
    ++done_tensors_;
    draw(false);
}

void Progress::finish() {
    if (!enabled_) return;
    draw(true);
    if (tty_) std::fputc('\n', out_);
    line_open_ = false;
    std::fflush(out_);
}

void Progress::draw(bool force) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const auto interval = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
    if (!force && now - last_draw_ < interval) return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double mbps = elapsed > 0 ? static_cast<double>(done_bytes_) / 1e6 / elapsed : 0.0;
    const double frac = static_cast<double>(done_bytes_) / static_cast<double>(total_bytes_);
    const double eta = frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
    std::fprintf(out_, "%s[%zu/%zu] %5.1f%% %8.1f MB/s  elapsed %s  ETA %s  %-40.40s%s", tty_ ? "\r" : "", done_tensors_,
                 total_tensors_, 100.0 * frac, mbps, clock_string(elapsed).c_str(), clock_string(eta).c_str(),
                 current_.c_str(), tty_ ? "" : "\n");
    line_open_ = tty_;
    std::fflush(out_);
}

}  // namespace moecpu::convert
