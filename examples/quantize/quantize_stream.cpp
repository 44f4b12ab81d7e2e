// Streaming encode + write (see quantize_stream.h).
#include "examples/quantize/quantize_stream.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>

#include "examples/quantize/plan_report.h"
#include "examples/quantize/progress.h"
#include "lib/src/error.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

namespace {

// Floats converted per step: 16 MiB, large enough for fast I/O, small enough to never matter.
constexpr int64_t kChunkFloats = int64_t{4} << 20;

// Reads and encodes rows [row_begin, row_begin + n) of tensor `index` into `encoded`, spreading
// groups of rows over the OpenMP threads. A group never crosses an expert boundary, so each gets
// its expert's importance weights. The first error of any thread is rethrown here.
void encode_chunk(const StreamTensor& t, size_t index, int64_t row_begin, int64_t n, const ReadRowsFn& read_rows,
                  const ImportanceFn& importance, float* rows, uint8_t* encoded) {
    const int64_t cols = t.row_length();
    const size_t out_row = row_size(t.type, cols);
    const int64_t rows_per_expert = t.n_dims >= 3 ? t.ne[1] : t.row_count();
    const int64_t per_task = std::max<int64_t>(1, (int64_t{64} << 10) / cols);  // ~256 KiB of floats
    // Task boundaries: every per_task rows and at every expert start.
    std::vector<int64_t> starts;
    for (int64_t r = 0; r < n;) {
        starts.push_back(r);
        const int64_t abs = row_begin + r;
        const int64_t to_expert_end = rows_per_expert - abs % rows_per_expert;
        r += std::min({per_task, to_expert_end, n - r});
    }
    starts.push_back(n);
    const int64_t n_tasks = static_cast<int64_t>(starts.size()) - 1;
    std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) if (n_tasks > 1)
    for (int64_t task = 0; task < n_tasks; ++task) {
        const int64_t first = starts[static_cast<size_t>(task)];
        const int64_t count = starts[static_cast<size_t>(task) + 1] - first;
        try {
            read_rows(index, row_begin + first, count, rows + first * cols);
            const float* imp = importance ? importance(t.name, (row_begin + first) / rows_per_expert, cols) : nullptr;
            encode_rows(t.type, rows + first * cols, count, cols, encoded + static_cast<size_t>(first) * out_row, imp);
        } catch (...) {
#pragma omp critical(moe_quantize_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace

uint64_t StreamTensor::n_bytes() const { return row_size(type, ne[0]) * static_cast<uint64_t>(row_count()); }

void encode_rows(GgmlType t, const float* src, int64_t nrows, int64_t ncols, uint8_t* dst, const float* importance) {
    const TypeTraits& tr = traits_of(t);
    if (tr.quantize != nullptr) {
        tr.quantize(src, dst, nrows, ncols, importance);
    } else if (tr.from_float_ref != nullptr) {
        tr.from_float_ref(src, dst, nrows * ncols);
    } else if (t == GgmlType::F32) {
        std::memcpy(dst, src, static_cast<size_t>(nrows * ncols) * sizeof(float));
    } else {
        fail(MOECPU_ERR_UNSUPPORTED, std::string("moe-quantize cannot encode type ") + tr.name + " yet");
    }
}

StreamResult write_gguf_streamed(const std::string& output_path, const std::vector<gguf::KeyValue>& kvs,
                                 const std::vector<StreamTensor>& tensors, const ReadRowsFn& read_rows,
                                 const StreamOptions& o) {
    StreamResult result;
    for (const StreamTensor& t : tensors) {
        result.n_bytes += t.n_bytes();
        result.n_weights += static_cast<uint64_t>(t.n_elements());
    }
    if (o.dry_run) {
        if (o.log) print_plan(tensors, o.log);
        return result;
    }
    const auto start = std::chrono::steady_clock::now();
    size_t alignment = gguf::kDefaultAlignment;  // an input GGUF's own alignment is kept
    for (const auto& kv : kvs)
        if (kv.key == gguf::kKeyAlignment) alignment = static_cast<size_t>(kv.value.as_u64());
    gguf::Writer w(output_path, alignment);
    for (const auto& kv : kvs) w.set(kv.key, kv.value);
    for (const StreamTensor& t : tensors) w.add_tensor(t.name, t.type, t.n_dims, t.ne);

    Progress progress(tensors.size(), result.n_bytes, o.log ? o.log : stderr, o.show_progress && o.log != nullptr);
    std::vector<float> rows;
    std::vector<uint8_t> encoded;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const StreamTensor& t = tensors[i];
        const int64_t cols = t.row_length(), n_rows = t.row_count();
        const size_t out_row = row_size(t.type, cols);
        const int64_t chunk = std::max<int64_t>(1, kChunkFloats / cols);
        const bool quantized = traits_of(t.type).is_quantized;
        if (o.importance && quantized && t.raw == nullptr && o.importance(t.name, 0, t.row_length()) != nullptr) ++result.n_with_importance;
        for (int64_t r = 0; r < n_rows; r += chunk) {
            const int64_t n = std::min(chunk, n_rows - r);
            const size_t n_bytes = out_row * static_cast<size_t>(n);
            if (t.raw != nullptr) {
                w.write_tensor_data(t.raw + static_cast<size_t>(r) * out_row, n_bytes);
            } else {
                rows.resize(static_cast<size_t>(n * cols));
                encoded.resize(n_bytes);
                encode_chunk(t, i, r, n, read_rows, quantized ? o.importance : ImportanceFn{}, rows.data(),
                             encoded.data());
                w.write_tensor_data(encoded.data(), n_bytes);
            }
            progress.advance(n_bytes, t.name);
        }
        progress.tensor_done();
    }
    w.finish();
    progress.finish();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (o.log) {
        print_summary(tensors, result.seconds, o.log);
        if (o.importance) {
            size_t n_quantized = 0;
            for (const StreamTensor& t : tensors) n_quantized += traits_of(t.type).is_quantized && t.raw == nullptr;
            std::fprintf(o.log, "importance weights used for %zu of %zu quantized tensors\n", result.n_with_importance,
                         n_quantized);
        }
    }
    return result;
}

}  // namespace moecpu::convert
