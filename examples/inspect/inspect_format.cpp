#include "examples/inspect/inspect_format.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>

#include "quant/type_traits.h"

namespace moecpu::inspect {

using gguf::Value;
using gguf::ValueType;

Totals summarize(const gguf::Reader& reader) {
    std::map<uint32_t, TypeTotal> by_id;
    Totals totals;
    for (const gguf::TensorInfo& t : reader.tensors()) {
        TypeTotal& tt = by_id[static_cast<uint32_t>(t.type)];
        tt.type = t.type;
        tt.count += 1;
        tt.bytes += t.n_bytes;
        tt.elements += t.n_elements();
        totals.bytes += t.n_bytes;
        totals.elements += t.n_elements();
    }
    for (const auto& [id, tt] : by_id) totals.by_type.push_back(tt);
    std::stable_sort(totals.by_type.begin(), totals.by_type.end(),
                     [](const TypeTotal& a, const TypeTotal& b) { return a.bytes > b.bytes; });
    return totals;
}

const char* type_name(GgmlType type) {
    const TypeTraits* tr = type_traits(type);
    return tr != nullptr && tr->name != nullptr ? tr->name : "?";
}

std::string shape_string(const gguf::TensorInfo& t) {
    std::string s = "[";
    for (int d = 0; d < t.n_dims; ++d) {
        if (d > 0) s += ", ";
        s += std::to_string(t.ne[d]);
    }
    return s + "]";
}

std::string value_type_label(const Value& v) {
    if (v.type != ValueType::ARRAY) return gguf::value_type_name(v.type);
    return std::string("arr[") + gguf::value_type_name(v.array_type) + "," + std::to_string(v.array.size()) + "]";
}

std::string format_float(double v, bool single_precision) {
    char buf[64];
    const auto r = single_precision ? std::to_chars(buf, buf + sizeof(buf), static_cast<float>(v))
                                    : std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, r.ptr);
}

namespace {

// Quoted, with control bytes escaped and long strings cut at a UTF-8 character boundary.
std::string quote(const std::string& s, size_t max_bytes) {
    size_t shown = s.size();
    if (max_bytes > 0 && shown > max_bytes) {
        shown = max_bytes;
        while (shown > 0 && (static_cast<unsigned char>(s[shown]) & 0xC0) == 0x80) --shown;
    }
    std::string out = "\"";
    for (size_t k = 0; k < shown; ++k) {
        const unsigned char c = static_cast<unsigned char>(s[k]);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char esc[8];
                    std::snprintf(esc, sizeof(esc), "\\x%02x", c);
                    out += esc;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += "\"";
    if (shown < s.size()) out += "...(" + std::to_string(s.size()) + " bytes)";
    return out;
}

}  // namespace

std::string format_value(const Value& v, const ReportOptions& opt) {
    switch (v.type) {
        case ValueType::UINT8:
        case ValueType::UINT16:
        case ValueType::UINT32:
        case ValueType::UINT64: return std::to_string(v.u);
        case ValueType::INT8:
        case ValueType::INT16:
        case ValueType::INT32:
        case ValueType::INT64: return std::to_string(v.i);
        case ValueType::FLOAT32: return format_float(v.f, true);
        case ValueType::FLOAT64: return format_float(v.f, false);
        case ValueType::BOOL: return v.u != 0 ? "true" : "false";
        case ValueType::STRING: return quote(v.str, opt.max_string);
        case ValueType::ARRAY: {
            const size_t n = v.array.size();
            const size_t shown = opt.max_array == 0 ? n : std::min(n, opt.max_array);
            std::string out = "[";
            for (size_t k = 0; k < shown; ++k) {
                if (k > 0) out += ", ";
                out += format_value(v.array[k], opt);
            }
            if (shown < n) out += (shown > 0 ? ", ... " : "... ") + std::to_string(n - shown) + " more";
            return out + "]";
        }
    }
    return "?";
}

std::string human_bytes(uint64_t n) {
    static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int unit = 0;
    while (v >= 1024.0 && unit < 4) {
        v /= 1024.0;
        ++unit;
    }
    char buf[32];
    if (unit == 0) {
        std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(n));
    } else {
        std::snprintf(buf, sizeof(buf), "%.2f %s", v, kUnits[unit]);
    }
    return buf;
}

}  // namespace moecpu::inspect
