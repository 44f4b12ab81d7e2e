// Streaming conversion (see hf_to_gguf.h).
#include "examples/quantize/hf_to_gguf.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>

#include "examples/quantize/deepseek2_gguf_plan.h"
#include "examples/quantize/deepseek2_hparams.h"
#include "examples/quantize/hf_checkpoint.h"
#include "examples/quantize/progress.h"
#include "examples/quantize/tensor_type_policy.h"
#include "examples/quantize/tokenizer_gguf.h"
#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

namespace {

namespace fs = std::filesystem;

// Floats converted per step: 16 MiB, large enough for fast I/O, small enough to never matter.
constexpr int64_t kChunkFloats = int64_t{4} << 20;

// Encodes nrows rows of ncols floats in type t into dst (nrows * row_size(t, ncols) bytes).
void encode_rows(GgmlType t, const float* src, int64_t nrows, int64_t ncols, uint8_t* dst) {
    const TypeTraits& tr = traits_of(t);
    if (tr.quantize != nullptr) {
        tr.quantize(src, dst, nrows, ncols, nullptr);
    } else if (tr.from_float_ref != nullptr) {
        tr.from_float_ref(src, dst, nrows * ncols);
    } else if (t == GgmlType::F32) {
        std::memcpy(dst, src, static_cast<size_t>(nrows * ncols) * sizeof(float));
    } else {
        fail(MOECPU_ERR_UNSUPPORTED, std::string("moe-quantize cannot encode type ") + tr.name + " yet");
    }
}

// Reads and encodes rows [row_begin, row_begin + n) of `t` into `encoded`, spreading blocks of
// rows over the OpenMP threads (reads from the mapping and encoding are both independent per
// row). The first error of any thread is rethrown here.
void convert_rows(const HfCheckpoint& ckpt, const PlannedTensor& t, int64_t row_begin, int64_t n, float* rows,
                  uint8_t* encoded) {
    const int64_t cols = t.row_length();
    const size_t out_row = row_size(t.type, cols);
    const int64_t per_task = std::max<int64_t>(1, (int64_t{64} << 10) / cols);  // ~256 KiB of floats
    const int64_t n_tasks = (n + per_task - 1) / per_task;
    std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) if (n_tasks > 1)
    for (int64_t task = 0; task < n_tasks; ++task) {
        const int64_t first = task * per_task;
        const int64_t count = std::min(per_task, n - first);
        try {
            read_planned_rows(ckpt, t, row_begin + first, count, rows + first * cols);
            encode_rows(t.type, rows + first * cols, count, cols, encoded + static_cast<size_t>(first) * out_row);
        } catch (...) {
#pragma omp critical(moe_quantize_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

void log_line(const ConvertOptions& o, const std::string& s) {
    if (o.log) std::fprintf(o.log, "moe-quantize: %s\n", s.c_str());
}

}  // namespace

void read_planned_rows(const HfCheckpoint& ckpt, const PlannedTensor& t, int64_t row_begin, int64_t n, float* out) {
    const safetensors::Checkpoint& st = ckpt.tensors();
    const int64_t cols = t.row_length();
    switch (t.source) {
        case TensorSource::Copy: st.read_rows_f32(t.hf_names[0], row_begin, n, out); return;
        case TensorSource::MergeExperts: {
            const int64_t per_expert = t.ne[1];
            while (n > 0) {
                const int64_t e = row_begin / per_expert, local = row_begin % per_expert;
                const int64_t take = std::min(n, per_expert - local);
                st.read_rows_f32(t.hf_names[static_cast<size_t>(e)], local, take, out);
                row_begin += take, n -= take, out += take * cols;
            }
            return;
        }
        case TensorSource::KvBToVB: {
            // Output row (h, j) is kv_b row h*(nope+v) + nope + j.
            const int64_t per_head = t.v_dim;
            while (n > 0) {
                const int64_t h = row_begin / per_head, j = row_begin % per_head;
                const int64_t take = std::min(n, per_head - j);
                st.read_rows_f32(t.hf_names[0], h * (t.nope + t.v_dim) + t.nope + j, take, out);
                row_begin += take, n -= take, out += take * cols;
            }
            return;
        }
        case TensorSource::KvBToKB: {
            // Output row (h, c) holds kv_b[h*(nope+v) + k][c] for k < nope: a per-head transpose.
            const int64_t kv_lora = t.ne[1];
            std::vector<float> head(static_cast<size_t>(t.nope * kv_lora));
            while (n > 0) {
                const int64_t h = row_begin / kv_lora, c0 = row_begin % kv_lora;
                const int64_t take = std::min(n, kv_lora - c0);
                st.read_rows_f32(t.hf_names[0], h * (t.nope + t.v_dim), t.nope, head.data());
                for (int64_t i = 0; i < take; ++i)
                    for (int64_t k = 0; k < t.nope; ++k) out[i * cols + k] = head[static_cast<size_t>(k * kv_lora + c0 + i)];
                row_begin += take, n -= take, out += take * cols;
            }
            return;
        }
    }
}

ConvertResult convert_hf_to_gguf(const ConvertOptions& o, const TensorTypePolicy& policy) {
    std::error_code ec;
    if (fs::is_directory(o.output_path, ec)) fail(MOECPU_ERR_INVALID_ARGUMENT, "output '" + o.output_path + "' is a directory");

    const auto ckpt = HfCheckpoint::open(o.input_dir);
    const Deepseek2HParams hp = read_deepseek2_hparams(*ckpt);
    const std::string name = o.model_name.empty() ? ckpt->name() : o.model_name;
    GgufPlan plan = plan_deepseek2(*ckpt, hp, policy, name);
    const auto tok = tokenizer_keys(*ckpt, hp.vocab_size, o.tokenizer_pre);
    for (const std::string& note : plan.notes) log_line(o, note);
    log_line(o, hp.hf_architecture + " -> GGUF deepseek2, " + std::to_string(plan.tensors.size()) + " tensors, type " +
                    policy.description());

    // Everything checked: only now does the output (a temporary sibling until finish) exist.
    gguf::Writer w(o.output_path);
    for (auto& kv : plan.kvs) w.set(kv.key, kv.value);
    for (auto& kv : tok) w.set(kv.key, kv.value);
    uint64_t total_bytes = 0;
    for (const PlannedTensor& t : plan.tensors) {
        w.add_tensor(t.name, t.type, t.n_dims, t.ne);
        total_bytes += w.tensor_bytes(t.name);
    }

    Progress progress(plan.tensors.size(), total_bytes, o.log ? o.log : stderr, o.show_progress && o.log != nullptr);
    std::vector<float> rows;
    std::vector<uint8_t> encoded;
    for (const PlannedTensor& t : plan.tensors) {
        const int64_t cols = t.row_length(), n_rows = t.row_count();
        const int64_t chunk = std::max<int64_t>(1, kChunkFloats / cols);
        rows.resize(static_cast<size_t>(std::min(chunk, n_rows) * cols));
        for (int64_t r = 0; r < n_rows; r += chunk) {
            const int64_t n = std::min(chunk, n_rows - r);
            const size_t n_bytes = row_size(t.type, cols) * static_cast<size_t>(n);
            encoded.resize(n_bytes);
            convert_rows(*ckpt, t, r, n, rows.data(), encoded.data());
            w.write_tensor_data(encoded.data(), n_bytes);
            progress.advance(n_bytes, t.name);
        }
        progress.tensor_done();
    }
    w.finish();
    progress.finish();

    ConvertResult result;
    result.n_tensors = plan.tensors.size();
    result.n_bytes = total_bytes;
    result.notes = plan.notes;
    log_line(o, "wrote '" + o.output_path + "' (" + std::to_string(result.n_tensors) + " tensors, " +
                    std::to_string(total_bytes / (1024 * 1024)) + " MiB of tensor data)");
    return result;
}

}  // namespace moecpu::convert
