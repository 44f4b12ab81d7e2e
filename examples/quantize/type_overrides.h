// --tensor-type PATTERN=TYPE: per-tensor overrides on top of a base policy. PATTERN is an
// ECMAScript regular expression searched in the GGUF tensor name (as llama-quantize's
// --tensor-type does); the first matching override wins. Tensors llama.cpp keeps in F32 are not
// overridden, and the row-length fallback still applies to the overriding type.
#pragma once
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "examples/quantize/tensor_type_policy.h"

namespace moecpu::convert {

struct TypeOverride {
    std::string pattern;
    std::regex regex;
    GgmlType type;
};

// Parses "PATTERN=TYPE" (the last '=' splits, so patterns may contain '='); throws
// Error(INVALID_ARGUMENT) naming the argument on a bad regex or an unknown type.
TypeOverride parse_type_override(const std::string& argument);

class OverridePolicy : public TensorTypePolicy {
public:
    OverridePolicy(std::unique_ptr<TensorTypePolicy> base, std::vector<TypeOverride> overrides);
    GgmlType type_for(const TensorTypeRequest& request) const override;
    uint32_t file_type() const override { return base_->file_type(); }
    std::string description() const override;

private:
    std::unique_ptr<TensorTypePolicy> base_;
    std::vector<TypeOverride> overrides_;
};

}  // namespace moecpu::convert
