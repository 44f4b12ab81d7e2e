// GGUF requantization (see gguf_requantize.h).
#include "examples/quantize/gguf_requantize.h"

#include <filesystem>

#include "examples/quantize/tensor_type_policy.h"
#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

namespace {
constexpr uint32_t kGgmlQuantVersion = 2;  // GGML_QNT_VERSION
}

ConvertResult requantize_gguf(const RequantizeOptions& o, const TensorTypePolicy& policy) {
    std::error_code ec;
    if (std::filesystem::is_directory(o.output_path, ec))
        fail(MOECPU_ERR_INVALID_ARGUMENT, "output '" + o.output_path + "' is a directory");
    if (!o.dry_run && std::filesystem::equivalent(o.input_path, o.output_path, ec))
        fail(MOECPU_ERR_INVALID_ARGUMENT, "output '" + o.output_path + "' is the input file");
    const auto in = gguf::Reader::open(o.input_path);
    const std::string arch = in->get_string("general.architecture");
    const int64_t n_layer = static_cast<int64_t>(in->get_u64(arch + ".block_count", 0));

    std::vector<StreamTensor> tensors;
    for (const gguf::TensorInfo& src : in->tensors()) {
        StreamTensor t;
        t.name = src.name;
        t.n_dims = src.n_dims;
        for (int i = 0; i < 4; ++i) t.ne[i] = src.ne[i];
        t.source_type = src.type;
        t.keep_f32 = llama_cpp_keeps_f32(src.name, src.n_dims);
        const TypeChoice choice = choose_tensor_type(policy, {t.name, t.n_dims, t.ne, t.keep_f32, n_layer});
        t.type = choice.type;
        t.wanted_type = choice.wanted;
        const TypeTraits& from = traits_of(src.type);
        if (t.type == src.type) {
            t.raw = src.data;
        } else {
            if (from.is_quantized && traits_of(t.type).is_quantized && !o.allow_requantize) {
                fail(MOECPU_ERR_INVALID_ARGUMENT, "'" + o.input_path + "': tensor '" + src.name + "' is already " +
                                                      from.name + "; requantizing it to " + traits_of(t.type).name +
                                                      " loses accuracy twice (pass --allow-requantize to do it anyway)");
            }
            if (!from.supported || from.to_float == nullptr) {
                fail(MOECPU_ERR_UNSUPPORTED, "'" + o.input_path + "': tensor '" + src.name + "' has type " + from.name +
                                                 ", which moe-quantize cannot decode");
            }
        }
        tensors.push_back(std::move(t));
    }

    std::vector<gguf::KeyValue> kvs = in->kvs();
    auto set = [&](const std::string& key, gguf::Value v) {
        for (auto& kv : kvs)
            if (kv.key == key) {
                kv.value = std::move(v);
                return;
            }
        kvs.push_back({key, std::move(v)});
    };
    set("general.file_type", gguf::Value::make_u32(policy.file_type()));
    set("general.quantization_version", gguf::Value::make_u32(kGgmlQuantVersion));

    const auto& infos = in->tensors();
    const ReadRowsFn read = [&](size_t i, int64_t row_begin, int64_t n, float* out) {
        const gguf::TensorInfo& src = infos[i];
        const size_t src_row = row_size(src.type, src.ne[0]);
        traits_of(src.type).to_float(src.data + static_cast<size_t>(row_begin) * src_row, out, n * src.ne[0]);
    };
    if (o.log)
        std::fprintf(o.log, "moe-quantize: %s: %zu tensors -> type %s\n", o.input_path.c_str(), tensors.size(),
                     policy.description().c_str());
    StreamOptions so;
    so.dry_run = o.dry_run;
    so.show_progress = o.show_progress;
    so.log = o.log;
    so.importance = o.importance;
    const StreamResult sr = write_gguf_streamed(o.output_path, kvs, tensors, read, so);
    ConvertResult r;
    r.n_tensors = tensors.size();
    r.n_bytes = sr.n_bytes;
    return r;
}

}  // namespace moecpu::convert
