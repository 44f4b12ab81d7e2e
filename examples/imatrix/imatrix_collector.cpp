// Importance-matrix accumulation (see imatrix_collector.h).
#include "examples/imatrix/imatrix_collector.h"

#include <algorithm>

#include "quant/type_traits.h"

namespace moecpu::tools {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

ImatrixCollector::ImatrixCollector(const std::vector<gguf::TensorInfo>& tensors) {
    for (const gguf::TensorInfo& t : tensors) {
        if (t.n_dims < 2 || !ends_with(t.name, ".weight") || t.data == nullptr) continue;
        Watched w;
        w.begin = t.data;
        w.end = t.data + t.n_bytes;
        w.name = t.name;
        w.n_per_row = t.ne[0];
        w.n_mat = t.ne[2] * t.ne[3];
        w.mat_bytes = row_size(t.type, t.ne[0]) * static_cast<size_t>(t.ne[1]);
        watched_.push_back(std::move(w));
    }
    std::sort(watched_.begin(), watched_.end(), [](const Watched& a, const Watched& b) { return a.begin < b.begin; });
}

void ImatrixCollector::observe(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens) {
    // The watched tensor holding w.data: the last one starting at or before it.
    auto it = std::upper_bound(watched_.begin(), watched_.end(), w.data,
                               [](const uint8_t* p, const Watched& t) { return p < t.begin; });
    if (it == watched_.begin()) return;
    Watched& t = *std::prev(it);
    if (w.data >= t.end || w.cols != t.n_per_row) return;  // not a model weight (e.g. the KV cache)
    const int64_t mat = static_cast<int64_t>(static_cast<size_t>(w.data - t.begin) / t.mat_bytes);
    // A view over several stacked matrices (n_mat > 1) feeds the same input to each.
    const int64_t n_mats = std::max<int64_t>(1, w.n_mat);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!t.seen) {
        t.sums.assign(static_cast<size_t>(t.n_mat * t.n_per_row), 0.0);
        t.counts.assign(static_cast<size_t>(t.n_mat), 0.0);
        t.seen = true;
    }
    for (int64_t m = mat; m < std::min(t.n_mat, mat + n_mats); ++m) {
        double* sums = &t.sums[static_cast<size_t>(m * t.n_per_row)];
        for (int64_t i = 0; i < n_tokens; ++i) {
            const float* row = x + i * x_stride;
            for (int64_t j = 0; j < t.n_per_row; ++j) sums[j] += static_cast<double>(row[j]) * row[j];
        }
        t.counts[static_cast<size_t>(m)] += static_cast<double>(n_tokens);
    }
}

convert::ImportanceMatrix ImatrixCollector::result() const {
    std::lock_guard<std::mutex> lock(mutex_);
    convert::ImportanceMatrix m;
    for (const Watched& t : watched_) {
        if (!t.seen) continue;
        convert::ImportanceEntry e;
        e.n_per_row = t.n_per_row;
        e.n_mat = t.n_mat;
        e.sums.assign(t.sums.begin(), t.sums.end());
        e.counts.assign(t.counts.begin(), t.counts.end());
        m.entries[t.name] = std::move(e);
    }
    m.finalize();
    return m;
}

double ImatrixCollector::count(const std::string& name, int64_t mat) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Watched& t : watched_)
        if (t.name == name) return t.seen && mat < t.n_mat ? t.counts[static_cast<size_t>(mat)] : 0.0;
    return 0.0;
}

}  // namespace moecpu::tools
