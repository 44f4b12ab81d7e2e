// Pieces shared by moe-inspect's text and JSON reports: value and shape formatting, per-type totals.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lib/src/gguf.h"

namespace moecpu::inspect {

struct ReportOptions {
    size_t max_array = 8;  // array elements shown before summarising; 0 = all
    size_t max_string = 120;  // string bytes shown in the text report before truncating
};

struct TypeTotal {
    GgmlType type = GgmlType::F32;
    size_t count = 0;
    uint64_t bytes = 0;
    int64_t elements = 0;
};

struct Totals {
    std::vector<TypeTotal> by_type;  // largest share first
    uint64_t bytes = 0;
    int64_t elements = 0;
};

Totals summarize(const gguf::Reader& reader);

const char* type_name(GgmlType type);
std::string shape_string(const gguf::TensorInfo& t);  // "[7168, 2048, 256]"
std::string value_type_label(const gguf::Value& v);    // "u32", "arr[str,129280]"
std::string format_value(const gguf::Value& v, const ReportOptions& opt);
std::string human_bytes(uint64_t n);  // "1.50 GiB"
std::string format_float(double v, bool single_precision);  // shortest round-trip form

}  // namespace moecpu::inspect
