#include "examples/perplexity/logprob_file.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace moecpu::tools {

namespace {
constexpr char kMagic[8] = {'M', 'O', 'E', 'L', 'O', 'G', 'P', '1'};
}

LogprobWriter::LogprobWriter(const std::string& path, const LogprobHeader& header, const std::vector<int32_t>& tokens)
    : path_(path), tmp_(path + ".tmp-" + std::to_string(::getpid())), header_(header) {
    f_ = std::fopen(tmp_.c_str(), "wb");
    if (!f_) throw std::runtime_error("cannot create '" + tmp_ + "'");
    const uint32_t h[4] = {header.n_vocab, header.n_ctx, header.n_chunks, header.n_scored};
    bool ok = std::fwrite(kMagic, 1, 8, f_) == 8 && std::fwrite(h, 4, 4, f_) == 4;
    ok = ok && std::fwrite(tokens.data(), 4, tokens.size(), f_) == tokens.size();
    if (!ok) throw std::runtime_error("writing '" + tmp_ + "' failed");
}

LogprobWriter::~LogprobWriter() {
    if (f_) {  // not finished: leave nothing behind
        std::fclose(f_);
        std::remove(tmp_.c_str());
    }
}

void LogprobWriter::append_row(const float* logprobs) {
    if (std::fwrite(logprobs, sizeof(float), header_.n_vocab, f_) != header_.n_vocab)
        throw std::runtime_error("writing '" + tmp_ + "' failed (disk full?)");
    ++rows_;
}

void LogprobWriter::finish() {
    const bool complete = rows_ == uint64_t(header_.n_chunks) * header_.n_scored;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!complete || !closed) {
        std::remove(tmp_.c_str());
        throw std::runtime_error("writing '" + path_ + "' failed");
    }
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) throw std::runtime_error("cannot rename to '" + path_ + "'");
}

LogprobReader::LogprobReader(const std::string& path) : path_(path) {
    f_ = std::fopen(path.c_str(), "rb");
    if (!f_) throw std::runtime_error("cannot open '" + path + "'");
    char magic[8];
    uint32_t h[4];
    if (std::fread(magic, 1, 8, f_) != 8 || std::memcmp(magic, kMagic, 8) != 0 || std::fread(h, 4, 4, f_) != 4)
        throw std::runtime_error("'" + path + "' is not a moe-perplexity logits file");
    header_ = {h[0], h[1], h[2], h[3]};
    if (header_.n_vocab == 0 || header_.n_ctx == 0 || header_.n_scored > header_.n_ctx)
        throw std::runtime_error("'" + path + "' has an invalid header");
    tokens_.resize(size_t(header_.n_chunks) * header_.n_ctx);
    if (std::fread(tokens_.data(), 4, tokens_.size(), f_) != tokens_.size())
        throw std::runtime_error("'" + path + "' is truncated");
}

LogprobReader::~LogprobReader() {
    if (f_) std::fclose(f_);
}

void LogprobReader::read_row(float* logprobs) {
    if (std::fread(logprobs, sizeof(float), header_.n_vocab, f_) != header_.n_vocab)
        throw std::runtime_error("'" + path_ + "' is truncated");
}

}  // namespace moecpu::tools
