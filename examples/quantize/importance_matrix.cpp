// Importance matrix files (see importance_matrix.h).
#include "examples/quantize/importance_matrix.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "lib/src/error.h"
#include "lib/src/gguf.h"

namespace moecpu::convert {

namespace {

constexpr const char* kSums = ".in_sum2";
constexpr const char* kCounts = ".counts";

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
    fail(MOECPU_ERR_BAD_FORMAT, "imatrix '" + path + "': " + what);
}

ImportanceMatrix read_gguf_layout(const std::string& path) {
    const auto r = gguf::Reader::open(path);
    ImportanceMatrix m;
    if (const gguf::Value* d = r->find("imatrix.datasets"))
        for (const gguf::Value& v : d->array) m.datasets.push_back(v.str);
    m.chunk_count = static_cast<uint32_t>(r->get_u64("imatrix.chunk_count", 0));
    m.chunk_size = static_cast<uint32_t>(r->get_u64("imatrix.chunk_size", 0));
    for (const gguf::TensorInfo& t : r->tensors()) {
        if (!ends_with(t.name, kSums)) continue;
        const std::string base = t.name.substr(0, t.name.size() - std::strlen(kSums));
        const gguf::TensorInfo* c = r->find_tensor(base + kCounts);
        if (c == nullptr) bad(path, "tensor '" + t.name + "' has no matching '" + base + kCounts + "'");
        if (t.type != GgmlType::F32 || c->type != GgmlType::F32) bad(path, "'" + base + "' is not stored in F32");
        ImportanceEntry e;
        e.n_per_row = t.ne[0];
        e.n_mat = t.ne[1] * t.ne[2] * t.ne[3];
        if (c->n_elements() != e.n_mat)
            bad(path, "'" + base + kCounts + "' has " + std::to_string(c->n_elements()) + " values for " +
                          std::to_string(e.n_mat) + " matrices");
        e.sums.resize(static_cast<size_t>(t.n_elements()));
        e.counts.resize(static_cast<size_t>(e.n_mat));
        std::memcpy(e.sums.data(), t.data, e.sums.size() * sizeof(float));
        std::memcpy(e.counts.data(), c->data, e.counts.size() * sizeof(float));
        m.entries[base] = std::move(e);
    }
    return m;
}

template <typename T>
void read_pod(std::ifstream& in, T* v, size_t n, const std::string& path) {
    in.read(reinterpret_cast<char*>(v), static_cast<std::streamsize>(n * sizeof(T)));
    if (!in) bad(path, "file ends early");
}

ImportanceMatrix read_dat_layout(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(MOECPU_ERR_IO, "imatrix '" + path + "': cannot open");
    ImportanceMatrix m;
    int32_t n_entries = 0;
    read_pod(in, &n_entries, 1, path);
    if (n_entries < 0) bad(path, "negative entry count");
    for (int32_t i = 0; i < n_entries; ++i) {
        int32_t len = 0, ncall = 0, nval = 0;
        read_pod(in, &len, 1, path);
        if (len <= 0 || len > 4096) bad(path, "entry " + std::to_string(i) + " has a bad name length");
        std::string name(static_cast<size_t>(len), '\0');
        read_pod(in, name.data(), name.size(), path);
        read_pod(in, &ncall, 1, path);
        read_pod(in, &nval, 1, path);
        if (nval <= 0) bad(path, "entry '" + name + "' has no values");
        ImportanceEntry e;
        e.n_per_row = nval;  // the .dat layout does not say how many experts; resolved in weights()
        e.n_mat = 1;
        e.sums.resize(static_cast<size_t>(nval));
        read_pod(in, e.sums.data(), e.sums.size(), path);
        // Values hold mean * ncall: keep them as sums over ncall "tokens".
        e.counts.assign(1, static_cast<float>(ncall));
        m.entries[name] = std::move(e);
    }
    int32_t chunks = 0;
    if (in.read(reinterpret_cast<char*>(&chunks), sizeof chunks)) {
        m.chunk_count = static_cast<uint32_t>(std::max(chunks, 0));
        int32_t len = 0;
        if (in.read(reinterpret_cast<char*>(&len), sizeof len) && len > 0 && len < (1 << 20)) {
            std::string dataset(static_cast<size_t>(len), '\0');
            if (in.read(dataset.data(), len)) m.datasets.push_back(dataset);
        }
    }
    return m;
}

}  // namespace

void ImportanceMatrix::finalize() {
    for (auto& [name, e] : entries) {
        e.mean.assign(e.sums.size(), 0.0f);
        const int64_t per = static_cast<int64_t>(e.sums.size()) / std::max<int64_t>(1, static_cast<int64_t>(e.counts.size()));
        for (size_t k = 0; k < e.counts.size(); ++k) {
            const float c = e.counts[k];
            for (int64_t j = 0; j < per; ++j) {
                const size_t i = k * static_cast<size_t>(per) + static_cast<size_t>(j);
                e.mean[i] = c > 0 ? e.sums[i] / c : 0.0f;
            }
        }
    }
}

const float* ImportanceMatrix::weights(const std::string& name, int64_t expert, int64_t n_per_row) const {
    const auto it = entries.find(name);
    if (it == entries.end() || n_per_row <= 0) return nullptr;
    const ImportanceEntry& e = it->second;
    // A .dat entry does not record its expert count: it is the value count over the row length.
    const int64_t n_values = static_cast<int64_t>(e.mean.size());
    if (n_values % n_per_row != 0 || expert < 0 || expert >= n_values / n_per_row) return nullptr;
    const float* w = e.mean.data() + static_cast<size_t>(expert * n_per_row);
    // An expert that saw no token has no information (all zero): quantize it without weights.
    for (int64_t j = 0; j < n_per_row; ++j)
        if (w[j] > 0.0f) return w;
    return nullptr;
}

ImportanceMatrix read_importance_matrix(const std::string& path) {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) fail(MOECPU_ERR_IO, "imatrix '" + path + "': cannot open");
    uint32_t magic = 0;
    probe.read(reinterpret_cast<char*>(&magic), sizeof magic);
    probe.close();
    ImportanceMatrix m = magic == gguf::kMagic ? read_gguf_layout(path) : read_dat_layout(path);
    for (const auto& [name, e] : m.entries)
        for (float v : e.sums)
            if (!std::isfinite(v)) bad(path, "'" + name + "' holds a non-finite value");
    m.finalize();
    return m;
}

void write_importance_matrix(const std::string& path, const ImportanceMatrix& m) {
    gguf::Writer w(path);
    w.set("general.type", gguf::Value::make_string("imatrix"));
    w.set("imatrix.datasets", gguf::Value::make_string_array(m.datasets));
    w.set("imatrix.chunk_count", gguf::Value::make_u32(m.chunk_count));
    w.set("imatrix.chunk_size", gguf::Value::make_u32(m.chunk_size));
    for (const auto& [name, e] : m.entries) {
        const int64_t sums_ne[2] = {e.n_per_row, e.n_mat};
        const int64_t counts_ne[2] = {1, e.n_mat};
        w.add_tensor(name + kSums, GgmlType::F32, 2, sums_ne);
        w.add_tensor(name + kCounts, GgmlType::F32, 2, counts_ne);
    }
    for (const auto& [name, e] : m.entries) {
        w.write_tensor_data(e.sums.data(), e.sums.size() * sizeof(float));
        w.write_tensor_data(e.counts.data(), e.counts.size() * sizeof(float));
    }
    w.finish();
}

void write_importance_matrix_dat(const std::string& path, const ImportanceMatrix& m) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) fail(MOECPU_ERR_IO, "imatrix '" + path + "': cannot create");
    auto put = [&](const void* p, size_t n) { out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n)); };
    const int32_t n_entries = static_cast<int32_t>(m.entries.size());
    put(&n_entries, sizeof n_entries);
    for (const auto& [name, e] : m.entries) {
        const int32_t len = static_cast<int32_t>(name.size());
        put(&len, sizeof len);
        put(name.data(), name.size());
        // One ncall for the entry: the largest count, values rescaled to mean * ncall.
        float ncall_f = 0;
        for (float c : e.counts) ncall_f = std::max(ncall_f, c);
        const int32_t ncall = static_cast<int32_t>(ncall_f);
        const int32_t nval = static_cast<int32_t>(e.sums.size());
        put(&ncall, sizeof ncall);
        put(&nval, sizeof nval);
        std::vector<float> scaled(e.sums.size());
        for (size_t k = 0; k < e.counts.size(); ++k)
            for (int64_t j = 0; j < e.n_per_row; ++j) {
                const size_t i = k * static_cast<size_t>(e.n_per_row) + static_cast<size_t>(j);
                scaled[i] = e.counts[k] > 0 ? e.sums[i] / e.counts[k] * static_cast<float>(ncall) : 0.0f;
            }
        put(scaled.data(), scaled.size() * sizeof(float));
    }
    const int32_t chunks = static_cast<int32_t>(m.chunk_count);
    put(&chunks, sizeof chunks);
    const std::string dataset = m.datasets.empty() ? std::string() : m.datasets[0];
    const int32_t dlen = static_cast<int32_t>(dataset.size());
    put(&dlen, sizeof dlen);
    put(dataset.data(), dataset.size());
    if (!out.flush()) fail(MOECPU_ERR_IO, "imatrix '" + path + "': write failed");
}

}  // namespace moecpu::convert
