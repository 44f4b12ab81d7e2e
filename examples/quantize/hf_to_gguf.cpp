// Streaming conversion (see hf_to_gguf.h).
#include "examples/quantize/hf_to_gguf.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>

#include "examples/quantize/deepseek2_gguf_plan.h"
#include "examples/quantize/deepseek2_hparams.h"
#include "examples/quantize/hf_checkpoint.h"
#include "examples/quantize/quantize_stream.h"
#include "examples/quantize/tensor_type_policy.h"
#include "examples/quantize/tokenizer_gguf.h"
#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

namespace {

namespace fs = std::filesystem;

// The streaming engine's view of a planned tensor (listing shows the checkpoint's dtype).
StreamTensor stream_tensor_of(const PlannedTensor& t, const safetensors::Checkpoint& st) {
    StreamTensor s;
    s.name = t.name;
    s.n_dims = t.n_dims;
    for (int i = 0; i < 4; ++i) s.ne[i] = t.ne[i];
    s.type = t.type;
    s.wanted_type = t.wanted_type;
    s.keep_f32 = t.keep_f32;
    s.source_type = GgmlType::F32;
    if (const safetensors::TensorInfo* info = st.find(t.hf_names[0])) {
        GgmlType g;
        if (type_from_name(safetensors::dtype_name(info->dtype), &g)) s.source_type = g;
    }
    return s;
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
    std::vector<gguf::KeyValue> kvs = plan.kvs;
    kvs.insert(kvs.end(), tok.begin(), tok.end());
    std::vector<StreamTensor> stream;
    for (const PlannedTensor& t : plan.tensors) stream.push_back(stream_tensor_of(t, ckpt->tensors()));
    const ReadRowsFn read = [&](size_t i, int64_t row_begin, int64_t n, float* out) {
        read_planned_rows(*ckpt, plan.tensors[i], row_begin, n, out);
    };
    StreamOptions so;
    so.dry_run = o.dry_run;
    so.show_progress = o.show_progress;
    so.log = o.log;
    so.importance = o.importance;
    const StreamResult sr = write_gguf_streamed(o.output_path, kvs, stream, read, so);
    const uint64_t total_bytes = sr.n_bytes;
    if (o.dry_run) {
        ConvertResult result;
        result.n_tensors = plan.tensors.size();
        result.n_bytes = total_bytes;
        result.notes = plan.notes;
        return result;
    }

    ConvertResult result;
    result.n_tensors = plan.tensors.size();
    result.n_bytes = total_bytes;
    result.notes = plan.notes;
    log_line(o, "wrote '" + o.output_path + "' (" + std::to_string(result.n_tensors) + " tensors, " +
                    std::to_string(total_bytes / (1024 * 1024)) + " MiB of tensor data)");
    return result;
}

}  // namespace moecpu::convert
