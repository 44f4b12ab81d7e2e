// The objects behind the C API's opaque handles.
#pragma once
#include <memory>
#include <vector>

#include "lib/src/gguf.h"
#include "lib/src/page_cache_warmer.h"
#include "lib/src/prefetch_experts.h"
#include "lib/src/residency.h"
#include "lib/src/residency_usage.h"
#include "lib/src/sampler.h"
#include "lib/src/vocab.h"
#include "models/deepseek2.h"
#include "moecpu.h"

struct moecpu_model {
    std::unique_ptr<moecpu::gguf::Reader> reader;  // owns the mapping every weight points into
    std::unique_ptr<moecpu::Vocab> vocab;
    std::unique_ptr<moecpu::Deepseek2Model> arch;
    moecpu_model_params params{};
    moecpu::WeightRegions regions;      // expert / other tensor byte ranges, for residency stats
    int32_t mlock_state = 0;            // see moecpu_stats.mlock_state
    // Reads the non-expert weights in the background; declared last so it stops (and joins)
    // before the mapping it reads from goes away.
    std::unique_ptr<moecpu::PageCacheWarmer> warmer;
};

struct moecpu_context {
    moecpu_model* model = nullptr;
    moecpu_context_params params{};
    std::unique_ptr<moecpu::Deepseek2State> state;
    std::vector<float> logits;          // [n_logit_rows][n_vocab]
    int64_t n_logit_rows = 0;           // rows kept from the last eval
    int64_t last_batch = 0;             // tokens in the last eval
    std::vector<int32_t> history;       // every token in the cache, in order
    std::unique_ptr<moecpu::Sampler> sampler;
    moecpu_sampler_params sampler_params{};
    // Residency accounting and prefetch hints (routing observers of `state`).
    std::unique_ptr<moecpu::ExpertUsage> usage;
    std::unique_ptr<moecpu::ExpertPrefetcher> prefetcher;
    moecpu::ProcessIo io_baseline;
    int64_t stats_tokens = 0;
};

namespace moecpu {
int resolve_threads(int32_t requested);  // 0 → all cores
}
