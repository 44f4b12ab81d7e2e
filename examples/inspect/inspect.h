// moe-inspect's two report formats and the CPU section.
#pragma once
#include <iosfwd>

#include <nlohmann/json.hpp>

#include "examples/inspect/inspect_format.h"

namespace moecpu::inspect {

void print_text(const gguf::Reader& reader, const ReportOptions& opt, std::ostream& os);
nlohmann::ordered_json report_json(const gguf::Reader& reader, const ReportOptions& opt);

std::string cpu_text();      // detected features and kernel tables, one line each
nlohmann::ordered_json cpu_json();

}  // namespace moecpu::inspect
