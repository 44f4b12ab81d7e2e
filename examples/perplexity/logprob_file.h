// Saved log-probabilities of a base model, so quantized models can be compared with it later
// without loading both (--save-logits / --kld-logits). Layout, little-endian:
//   "MOELOGP1" | u32 n_vocab | u32 n_ctx | u32 n_chunks | u32 n_scored (per chunk)
//   | i32 tokens[n_chunks * n_ctx] | f32 logprobs[n_chunks * n_scored * n_vocab]
// Stored in full float32: KL divergences of good quantizations are ~1e-4 nats, so a 16-bit
// format's rounding would be of the same size as what is measured.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace moecpu::tools {

struct LogprobHeader {
    uint32_t n_vocab = 0, n_ctx = 0, n_chunks = 0, n_scored = 0;
};

class LogprobWriter {
public:
    // Writes to a temporary sibling; the file appears under `path` only after finish().
    LogprobWriter(const std::string& path, const LogprobHeader& header, const std::vector<int32_t>& tokens);
    ~LogprobWriter();
    void append_row(const float* logprobs);  // n_vocab values
    void finish();

private:
    std::string path_, tmp_;
    LogprobHeader header_;
    std::FILE* f_ = nullptr;
    uint64_t rows_ = 0;
};

class LogprobReader {
public:
    explicit LogprobReader(const std::string& path);  // throws std::runtime_error naming the file
    ~LogprobReader();
    const LogprobHeader& header() const { return header_; }
    const std::vector<int32_t>& tokens() const { return tokens_; }
    void read_row(float* logprobs);  // next row, in order

private:
    std::string path_;
    LogprobHeader header_;
    std::vector<int32_t> tokens_;
    std::FILE* f_ = nullptr;
};

}  // namespace moecpu::tools
