// moe-inspect's human-readable report.
#include <algorithm>
#include <cstdio>
#include <ostream>

#include "examples/inspect/inspect.h"
#include "examples/inspect/inspect_format.h"

namespace moecpu::inspect {

namespace {

std::string pad_right(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string pad_left(const std::string& s, size_t width) {
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}

std::string percent(uint64_t part, uint64_t whole) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%.2f%%", whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
    return buf;
}

}  // namespace

void print_text(const gguf::Reader& r, const ReportOptions& opt, std::ostream& os) {
    os << "file:        " << r.path() << "\n"
       << "version:     " << r.version() << "\n"
       << "alignment:   " << r.alignment() << "\n"
       << "keys:        " << r.kvs().size() << "\n"
       << "tensors:     " << r.tensors().size() << "\n"
       << "data offset: " << r.data_offset() << "\n"
       << "file size:   " << r.file_size() << " (" << human_bytes(r.file_size()) << ")\n";

    os << "\nmetadata:\n";
    size_t key_width = 0, type_width = 0;
    for (const gguf::KeyValue& kv : r.kvs()) {
        key_width = std::max(key_width, kv.key.size());
        type_width = std::max(type_width, value_type_label(kv.value).size());
    }
    for (const gguf::KeyValue& kv : r.kvs()) {
        os << "  " << pad_right(kv.key, key_width) << "  " << pad_right(value_type_label(kv.value), type_width)
           << "  " << format_value(kv.value, opt) << "\n";
    }

    os << "\ntensors:\n";
    size_t name_width = 4, shape_width = 5;
    for (const gguf::TensorInfo& t : r.tensors()) {
        name_width = std::max(name_width, t.name.size());
        shape_width = std::max(shape_width, shape_string(t).size());
    }
    os << "  " << pad_left("#", 5) << "  " << pad_right("name", name_width) << "  " << pad_right("type", 8) << "  "
       << pad_right("shape", shape_width) << "  " << pad_left("offset", 14) << "  " << pad_left("bytes", 14) << "\n";
    for (size_t k = 0; k < r.tensors().size(); ++k) {
        const gguf::TensorInfo& t = r.tensors()[k];
        os << "  " << pad_left(std::to_string(k), 5) << "  " << pad_right(t.name, name_width) << "  "
           << pad_right(type_name(t.type), 8) << "  " << pad_right(shape_string(t), shape_width) << "  "
           << pad_left(std::to_string(t.offset), 14) << "  " << pad_left(std::to_string(t.n_bytes), 14) << "\n";
    }

    const Totals totals = summarize(r);
    os << "\ntotals by type:\n";
    os << "  " << pad_right("type", 8) << "  " << pad_left("count", 7) << "  " << pad_left("bytes", 16) << "  "
       << pad_left("size", 11) << "  " << pad_left("share", 8) << "\n";
    for (const TypeTotal& tt : totals.by_type) {
        os << "  " << pad_right(type_name(tt.type), 8) << "  " << pad_left(std::to_string(tt.count), 7) << "  "
           << pad_left(std::to_string(tt.bytes), 16) << "  " << pad_left(human_bytes(tt.bytes), 11) << "  "
           << pad_left(percent(tt.bytes, totals.bytes), 8) << "\n";
    }
    os << "  " << pad_right("total", 8) << "  " << pad_left(std::to_string(r.tensors().size()), 7) << "  "
       << pad_left(std::to_string(totals.bytes), 16) << "  " << pad_left(human_bytes(totals.bytes), 11) << "  "
       << pad_left(percent(totals.bytes, totals.bytes), 8) << "\n";
    if (totals.elements > 0) {
        char bpw[32];
        std::snprintf(bpw, sizeof(bpw), "%.3f", 8.0 * static_cast<double>(totals.bytes) / static_cast<double>(totals.elements));
        os << "  elements: " << totals.elements << ", bits per weight: " << bpw << "\n";
    }
}

}  // namespace moecpu::inspect
