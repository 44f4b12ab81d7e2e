// moe-inspect --json: the same content as the text report, as one JSON object.
#include <cstdlib>

#include "examples/inspect/inspect.h"

namespace moecpu::inspect {

using gguf::Value;
using gguf::ValueType;
using json = nlohmann::ordered_json;

namespace {

json value_json(const Value& v, const ReportOptions& opt) {
    switch (v.type) {
        case ValueType::UINT8:
        case ValueType::UINT16:
        case ValueType::UINT32:
        case ValueType::UINT64: return v.u;
        case ValueType::INT8:
        case ValueType::INT16:
        case ValueType::INT32:
        case ValueType::INT64: return v.i;
        // Via the shortest float spelling, so an f32 0.1 prints as 0.1, not 0.10000000149011612.
        case ValueType::FLOAT32: return std::strtod(format_float(v.f, true).c_str(), nullptr);
        case ValueType::FLOAT64: return v.f;
        case ValueType::BOOL: return v.u != 0;
        case ValueType::STRING: return v.str;
        case ValueType::ARRAY: {
            const size_t n = v.array.size();
            const size_t shown = opt.max_array == 0 ? n : std::min(n, opt.max_array);
            json values = json::array();
            for (size_t k = 0; k < shown; ++k) values.push_back(value_json(v.array[k], opt));
            // Arrays are objects so a summarised one says how long it really is.
            return json{{"element_type", gguf::value_type_name(v.array_type)},
                        {"length", n},
                        {"truncated", shown < n},
                        {"values", std::move(values)}};
        }
    }
    return nullptr;
}

}  // namespace

json report_json(const gguf::Reader& r, const ReportOptions& opt) {
    json metadata = json::array();
    for (const gguf::KeyValue& kv : r.kvs()) {
        metadata.push_back({{"key", kv.key},
                            {"type", gguf::value_type_name(kv.value.type)},
                            {"value", value_json(kv.value, opt)}});
    }

    json tensors = json::array();
    for (const gguf::TensorInfo& t : r.tensors()) {
        json shape = json::array();
        for (int d = 0; d < t.n_dims; ++d) shape.push_back(t.ne[d]);
        tensors.push_back({{"name", t.name},
                           {"type", type_name(t.type)},
                           {"shape", std::move(shape)},
                           {"offset", t.offset},
                           {"bytes", t.n_bytes}});
    }

    const Totals totals = summarize(r);
    json by_type = json::array();
    for (const TypeTotal& tt : totals.by_type) {
        by_type.push_back({{"type", type_name(tt.type)},
                           {"count", tt.count},
                           {"bytes", tt.bytes},
                           {"elements", tt.elements},
                           {"share", totals.bytes == 0 ? 0.0 : static_cast<double>(tt.bytes) / static_cast<double>(totals.bytes)}});
    }

    return json{{"file", r.path()},
                {"version", r.version()},
                {"alignment", r.alignment()},
                {"kv_count", r.kvs().size()},
                {"tensor_count", r.tensors().size()},
                {"data_offset", r.data_offset()},
                {"file_size", r.file_size()},
                {"metadata", std::move(metadata)},
                {"tensors", std::move(tensors)},
                {"totals", {{"bytes", totals.bytes}, {"elements", totals.elements}, {"by_type", std::move(by_type)}}}};
}

}  // namespace moecpu::inspect
