// A one-line progress indicator on stderr: done/total, rate and ETA, redrawn in place on a
// terminal and printed sparsely (every 10%) when stderr is a log file.
#pragma once
#include <chrono>
#include <string>

namespace moecpu::tools {

class ProgressLine {
public:
    ProgressLine(std::string label, size_t total, std::string unit);
    void update(size_t done);
    void finish();

private:
    std::string label_, unit_;
    size_t total_;
    bool tty_;
    int last_decile_ = -1;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace moecpu::tools
