// Human-readable plan (--dry-run) and the end-of-run summary: per tensor its shape, type and
// bytes, the row-length fallbacks, and totals with bits per weight per tensor group.
#pragma once
#include <cstdio>
#include <vector>

#include "examples/quantize/quantize_stream.h"

namespace moecpu::convert {

void print_plan(const std::vector<StreamTensor>& tensors, std::FILE* out);
// Size and bits per weight by group (tensor_groups.h), then the total; `seconds` < 0: no time.
void print_summary(const std::vector<StreamTensor>& tensors, double seconds, std::FILE* out);
// Bits per weight of the whole plan (tensor data bytes * 8 / elements).
double plan_bits_per_weight(const std::vector<StreamTensor>& tensors);

}  // namespace moecpu::convert
