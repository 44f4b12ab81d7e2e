// One moe-cli run: a loaded model and context, plain-prompt generation and interactive chat.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "moecpu.h"

namespace moecpu::cli {

struct CliOptions {
    std::string model_path;
    std::string prompt;            // -p or the contents of -f
    std::vector<int32_t> tokens;   // --tokens (raw ids instead of text)
    std::string logits_out;        // --logits-out
    std::string system_prompt;     // --system (chat)
    int n_predict = 128;
    int n_ctx = 4096;
    int n_batch = 512;
    int n_threads = 0;
    int n_threads_batch = 0;
    bool chat = false;
    bool show_reasoning = true;
    bool use_mmap = true;
    bool use_mlock = false;        // --mlock: keep non-expert weights in RAM
    bool stats = false;            // --stats: residency and access statistics at exit
    bool prefetch = true;          // --no-prefetch turns off MADV_WILLNEED on chosen experts
    bool prefetch_next = false;    // --prefetch-next: also hint the next layer's likely experts
    bool advise_random = true;     // --no-advise-random keeps the kernel's read-ahead on experts
    moecpu_sampler_params sampling = moecpu_sampler_default_params();
};

class CliSession {
public:
    explicit CliSession(const CliOptions& options);  // throws std::runtime_error with the library's message
    ~CliSession();
    int run_prompt();  // returns the exit code
    int run_chat();

private:
    std::vector<int32_t> tokenize(const std::string& text, bool add_bos) const;
    void eval_timed(const std::vector<int32_t>& tokens);
    int32_t generate(std::vector<int32_t>* generated, bool starts_in_reasoning);
    void write_logits(size_t n_rows) const;
    void print_speed() const;
    void print_stats() const;

    CliOptions opt_;
    moecpu_model* model_ = nullptr;
    moecpu_context* ctx_ = nullptr;
    double prompt_seconds_ = 0, gen_seconds_ = 0;
    size_t prompt_tokens_ = 0, gen_tokens_ = 0;
};

}  // namespace moecpu::cli
