// GGUF metadata values: constructors, numeric conversions, type names.
#include <cmath>
#include <limits>

#include "lib/src/error.h"
#include "lib/src/gguf.h"

namespace moecpu::gguf {

const char* value_type_name(ValueType t) {
    // ggml's short spellings (gguf_type_name), so tool output reads like llama.cpp's.
    switch (t) {
        case ValueType::UINT8: return "u8";
        case ValueType::INT8: return "i8";
        case ValueType::UINT16: return "u16";
        case ValueType::INT16: return "i16";
        case ValueType::UINT32: return "u32";
        case ValueType::INT32: return "i32";
        case ValueType::FLOAT32: return "f32";
        case ValueType::BOOL: return "bool";
        case ValueType::STRING: return "str";
        case ValueType::ARRAY: return "arr";
        case ValueType::UINT64: return "u64";
        case ValueType::INT64: return "i64";
        case ValueType::FLOAT64: return "f64";
    }
    return "unknown";
}

namespace {

Value unsigned_value(ValueType t, uint64_t v) {
    Value r;
    r.type = t;
    r.u = v;
    return r;
}

Value signed_value(ValueType t, int64_t v) {
    Value r;
    r.type = t;
    r.i = v;
    return r;
}

}  // namespace

Value Value::make_u8(uint8_t v) { return unsigned_value(ValueType::UINT8, v); }
Value Value::make_i8(int8_t v) { return signed_value(ValueType::INT8, v); }
Value Value::make_u16(uint16_t v) { return unsigned_value(ValueType::UINT16, v); }
Value Value::make_i16(int16_t v) { return signed_value(ValueType::INT16, v); }
Value Value::make_i64(int64_t v) { return signed_value(ValueType::INT64, v); }

Value Value::make_f64(double v) {
    Value r;
    r.type = ValueType::FLOAT64;
    r.f = v;
    return r;
}

Value Value::make_u32(uint32_t v) {
    Value r;
    r.type = ValueType::UINT32;
    r.u = v;
    return r;
}

Value Value::make_i32(int32_t v) {
    Value r;
    r.type = ValueType::INT32;
    r.i = v;
    return r;
}

Value Value::make_u64(uint64_t v) {
    Value r;
    r.type = ValueType::UINT64;
    r.u = v;
    return r;
}

Value Value::make_f32(float v) {
    Value r;
    r.type = ValueType::FLOAT32;
    r.f = v;
    return r;
}

Value Value::make_bool(bool v) {
    Value r;
    r.type = ValueType::BOOL;
    r.u = v ? 1 : 0;
    return r;
}

Value Value::make_string(std::string v) {
    Value r;
    r.type = ValueType::STRING;
    r.str = std::move(v);
    return r;
}

Value Value::make_array(ValueType elem_type, std::vector<Value> elems) {
    Value r;
    r.type = ValueType::ARRAY;
    r.array_type = elem_type;
    r.array = std::move(elems);
    return r;
}

Value Value::make_string_array(const std::vector<std::string>& elems) {
    std::vector<Value> values;
    values.reserve(elems.size());
    for (const std::string& s : elems) values.push_back(make_string(s));
    return make_array(ValueType::STRING, std::move(values));
}

Value Value::make_f32_array(const std::vector<float>& elems) {
    std::vector<Value> values;
    values.reserve(elems.size());
    for (float v : elems) values.push_back(make_f32(v));
    return make_array(ValueType::FLOAT32, std::move(values));
}

Value Value::make_i32_array(const std::vector<int32_t>& elems) {
    std::vector<Value> values;
    values.reserve(elems.size());
    for (int32_t v : elems) values.push_back(make_i32(v));
    return make_array(ValueType::INT32, std::move(values));
}

namespace {

enum class Kind { Unsigned, Signed, Float, Other };

Kind kind_of(ValueType t) {
    switch (t) {
        case ValueType::UINT8:
        case ValueType::UINT16:
        case ValueType::UINT32:
        case ValueType::UINT64:
        case ValueType::BOOL: return Kind::Unsigned;
        case ValueType::INT8:
        case ValueType::INT16:
        case ValueType::INT32:
        case ValueType::INT64: return Kind::Signed;
        case ValueType::FLOAT32:
        case ValueType::FLOAT64: return Kind::Float;
        default: return Kind::Other;
    }
}

[[noreturn]] void not_numeric(ValueType t) {
    fail(MOECPU_ERR_BAD_FORMAT, std::string("expected a number, found a value of type ") + value_type_name(t));
}

// A float is accepted where an integer is wanted only if it is one exactly (e.g. 2.0 written by
// a converter that stores every number as f32).
double integral_float(double f, ValueType t) {
    if (!std::isfinite(f) || std::trunc(f) != f) {
        fail(MOECPU_ERR_BAD_FORMAT, std::string("expected an integer, found the ") + value_type_name(t) +
                                        " value " + std::to_string(f));
    }
    return f;
}

}  // namespace

uint64_t Value::as_u64() const {
    switch (kind_of(type)) {
        case Kind::Unsigned: return u;
        case Kind::Signed:
            if (i < 0) fail(MOECPU_ERR_BAD_FORMAT, "expected a non-negative number, found " + std::to_string(i));
            return static_cast<uint64_t>(i);
        case Kind::Float: {
            const double v = integral_float(f, type);
            // 2^64 is exactly representable; anything at or above it does not fit.
            if (v < 0 || v >= 18446744073709551616.0) {
                fail(MOECPU_ERR_BAD_FORMAT, "value " + std::to_string(v) + " does not fit in u64");
            }
            return static_cast<uint64_t>(v);
        }
        case Kind::Other: break;
    }
    not_numeric(type);
}

int64_t Value::as_i64() const {
    switch (kind_of(type)) {
        case Kind::Unsigned:
            if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                fail(MOECPU_ERR_BAD_FORMAT, "value " + std::to_string(u) + " does not fit in i64");
            }
            return static_cast<int64_t>(u);
        case Kind::Signed: return i;
        case Kind::Float: {
            const double v = integral_float(f, type);
            if (v < -9223372036854775808.0 || v >= 9223372036854775808.0) {
                fail(MOECPU_ERR_BAD_FORMAT, "value " + std::to_string(v) + " does not fit in i64");
            }
            return static_cast<int64_t>(v);
        }
        case Kind::Other: break;
    }
    not_numeric(type);
}

double Value::as_f64() const {
    switch (kind_of(type)) {
        case Kind::Unsigned: return static_cast<double>(u);
        case Kind::Signed: return static_cast<double>(i);
        case Kind::Float: return f;
        case Kind::Other: break;
    }
    not_numeric(type);
}

}  // namespace moecpu::gguf
