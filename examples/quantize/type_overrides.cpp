// --tensor-type overrides (see type_overrides.h).
#include "examples/quantize/type_overrides.h"

#include "lib/src/error.h"
#include "quant/type_traits.h"

namespace moecpu::convert {

TypeOverride parse_type_override(const std::string& arg) {
    const size_t eq = arg.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
        fail(MOECPU_ERR_INVALID_ARGUMENT, "--tensor-type '" + arg + "': expected PATTERN=TYPE");
    TypeOverride o;
    o.pattern = arg.substr(0, eq);
    const std::string type_name = arg.substr(eq + 1);
    bool single = false;
    if (type_from_name(type_name, &o.type))
        for (GgmlType s : kSingleTypes) single = single || s == o.type;
    if (!single) fail(MOECPU_ERR_INVALID_ARGUMENT, "--tensor-type '" + arg + "': unknown or unsupported type '" + type_name + "'");
    try {
        o.regex = std::regex(o.pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
        fail(MOECPU_ERR_INVALID_ARGUMENT, "--tensor-type '" + arg + "': bad regular expression: " + e.what());
    }
    return o;
}

OverridePolicy::OverridePolicy(std::unique_ptr<TensorTypePolicy> base, std::vector<TypeOverride> overrides)
    : base_(std::move(base)), overrides_(std::move(overrides)) {}

GgmlType OverridePolicy::type_for(const TensorTypeRequest& r) const {
    const std::string name(r.name);
    for (const TypeOverride& o : overrides_)
        if (std::regex_search(name, o.regex)) return o.type;
    return base_->type_for(r);
}

std::string OverridePolicy::description() const {
    std::string s = base_->description();
    for (const TypeOverride& o : overrides_) s += ", " + o.pattern + "=" + traits_of(o.type).name;
    return s;
}

}  // namespace moecpu::convert
