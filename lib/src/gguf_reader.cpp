// GGUF parsing. Every length and count read from the file is checked against the bytes that are
// actually left before it is used, so a hostile file can neither read out of bounds nor make the
// reader allocate much more than its own size.
#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "lib/src/mapped_file.h"

namespace moecpu::gguf {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

namespace {

// Smallest encodings, used to reject counts the rest of the file could not possibly hold.
constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;          // magic, version, tensor count, kv count
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;         // empty key, type, one-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;   // empty name, n_dims, type, offset
constexpr uint64_t kMinArrayBytes = 4 + 8;                // element type, count

// Checking counts against the bytes left is not enough for a multi-GB model file: a corrupt count
// there could still make the parser build billions of Values. Real files stay far below these
// (a 256k-token vocabulary is under 1M values); ggml caps strings at 1 GiB too.
constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 24;
constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;
// Vectors sized from a count in the file start at most this big and grow as entries really parse.
constexpr uint64_t kMaxReserve = 4096;

bool is_valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

uint64_t min_encoded_size(ValueType t) {
    switch (t) {
        case ValueType::UINT8:
        case ValueType::INT8:
        case ValueType::BOOL: return 1;
        case ValueType::UINT16:
        case ValueType::INT16: return 2;
        case ValueType::UINT32:
        case ValueType::INT32:
        case ValueType::FLOAT32: return 4;
        case ValueType::UINT64:
        case ValueType::INT64:
        case ValueType::FLOAT64:
        case ValueType::STRING: return 8;  // a string is at least its u64 length
        case ValueType::ARRAY: return kMinArrayBytes;
    }
    return 1;
}

// Sequential little-endian reads over [data, data + size) with bounds checks.
class Cursor {
public:
    Cursor(const uint8_t* data, uint64_t size, const std::string& file) : data_(data), size_(size), file_(file) {}

    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return size_ - pos_; }

    [[noreturn]] void error(const std::string& problem) const {
        fail(MOECPU_ERR_BAD_FORMAT, "'" + file_ + "': " + problem);
    }

    void need(uint64_t n, const std::string& what) const {
        if (n > remaining()) {
            error("truncated file: " + what + " at offset " + std::to_string(pos_) + " needs " +
                  std::to_string(n) + " bytes but only " + std::to_string(remaining()) + " remain");
        }
    }

    template <class T>
    T read(const std::string& what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    std::string read_string(const std::string& what) {
        const uint64_t len = read<uint64_t>(what + " length");
        if (len > kMaxStringBytes) {
            error(what + " at offset " + std::to_string(pos_ - 8) + " claims " + std::to_string(len) +
                  " bytes, more than the " + std::to_string(kMaxStringBytes) + " a GGUF string may have");
        }
        if (len > remaining()) {
            error(what + " at offset " + std::to_string(pos_ - 8) + " claims " + std::to_string(len) +
                  " bytes but only " + std::to_string(remaining()) + " remain in the file");
        }
        std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
        pos_ += len;
        return s;
    }

    // Counts n more metadata values against the file's budget.
    void take_values(uint64_t n, const std::string& where) {
        if (n > values_left_) {
            error(where + ": the metadata holds more than " + std::to_string(kMaxMetadataValues) +
                  " values (corrupt file?)");
        }
        values_left_ -= n;
    }

private:
    const uint8_t* data_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const std::string& file_;
    uint64_t values_left_ = kMaxMetadataValues;
};

Value read_value(Cursor& c, ValueType type, int depth, const std::string& where) {
    Value v;
    v.type = type;
    switch (type) {
        case ValueType::UINT8: v.u = c.read<uint8_t>(where); break;
        case ValueType::INT8: v.i = c.read<int8_t>(where); break;
        case ValueType::UINT16: v.u = c.read<uint16_t>(where); break;
        case ValueType::INT16: v.i = c.read<int16_t>(where); break;
        case ValueType::UINT32: v.u = c.read<uint32_t>(where); break;
        case ValueType::INT32: v.i = c.read<int32_t>(where); break;
        case ValueType::FLOAT32: v.f = c.read<float>(where); break;
        case ValueType::BOOL: v.u = c.read<uint8_t>(where) != 0 ? 1 : 0; break;
        case ValueType::UINT64: v.u = c.read<uint64_t>(where); break;
        case ValueType::INT64: v.i = c.read<int64_t>(where); break;
        case ValueType::FLOAT64: v.f = c.read<double>(where); break;
        case ValueType::STRING: v.str = c.read_string(where); break;
        case ValueType::ARRAY: {
            if (depth >= kMaxArrayNesting) {
                c.error(where + ": arrays nested deeper than " + std::to_string(kMaxArrayNesting) + " levels");
            }
            const uint32_t elem = c.read<uint32_t>(where + " element type");
            if (!is_valid_value_type(elem)) {
                c.error(where + ": unknown array element type " + std::to_string(elem));
            }
            v.array_type = static_cast<ValueType>(elem);
            const uint64_t count = c.read<uint64_t>(where + " element count");
            if (count > c.remaining() / min_encoded_size(v.array_type)) {
                c.error(where + ": array of " + std::to_string(count) + " " + value_type_name(v.array_type) +
                        " elements cannot fit in the remaining " + std::to_string(c.remaining()) + " bytes");
            }
            c.take_values(count, where);
            v.array.reserve(static_cast<size_t>(std::min(count, kMaxReserve)));
            for (uint64_t k = 0; k < count; ++k) {
                v.array.push_back(read_value(c, v.array_type, depth + 1, where));
            }
            break;
        }
    }
    return v;
}

std::string printable(const uint8_t* p, size_t n) {
    std::string s;
    for (size_t k = 0; k < n; ++k) s += (p[k] >= 0x20 && p[k] < 0x7f) ? static_cast<char>(p[k]) : '?';
    return s;
}

// Says what a non-GGUF file looks like, so "wrong file" mistakes are quick to spot.
std::string describe_foreign_file(const uint8_t* p, uint64_t size) {
    std::string what = "not a GGUF file: starts with '" + printable(p, 4) + "', expected 'GGUF'";
    if (size >= 9 && p[8] == '{') {
        what += " (looks like a safetensors file)";
    } else if (std::memcmp(p, "FUGG", 4) == 0) {
        what += " (byte-swapped magic: a big-endian GGUF file, which is not supported)";
    }
    return what;
}

}  // namespace

std::unique_ptr<Reader> Reader::open(const std::string& path, bool use_mmap) {
    std::unique_ptr<Reader> r(new Reader());
    r->path_ = path;
    r->file_ = MappedFile::open(path, use_mmap ? MappedFile::Mode::Map : MappedFile::Mode::ReadIntoMemory);
    r->base_ = r->file_->data();
    r->size_ = r->file_->size();
    r->parse();
    return r;
}

std::unique_ptr<Reader> Reader::from_memory(const uint8_t* data, size_t size, std::string name) {
    if (data == nullptr && size != 0) fail(MOECPU_ERR_INVALID_ARGUMENT, "'" + name + "': null buffer");
    std::unique_ptr<Reader> r(new Reader());
    r->path_ = std::move(name);
    r->base_ = data;
    r->size_ = size;
    r->parse();
    return r;
}

Reader::~Reader() = default;

void Reader::parse() {
    Cursor c(base_, size_, path_);
    if (size_ == 0) c.error("file is empty");
    if (size_ < 4) c.error("file is only " + std::to_string(size_) + " bytes, too short for a GGUF header");
    if (std::memcmp(base_, "GGUF", 4) != 0) c.error(describe_foreign_file(base_, size_));
    c.read<uint32_t>("magic");

    version_ = c.read<uint32_t>("version");
    if (version_ == 1) c.error("GGUF version 1 is not supported (only versions 2 and 3)");
    if (version_ != 2 && version_ != kVersion) {
        std::string problem = "unsupported GGUF version " + std::to_string(version_) + " (only versions 2 and 3)";
        if ((version_ & 0xFFFFu) == 0) problem += "; the file may be big-endian, which is not supported";
        c.error(problem);
    }
    c.need(kHeaderBytes - c.pos(), "header");
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const uint64_t n_kv = c.read<uint64_t>("key-value count");
    // Says why a count cannot be right: truncation and corruption both end up here.
    const auto count_error = [&](const char* what, uint64_t n, uint64_t min_bytes, const char* hold) {
        c.error(std::string(what) + " " + std::to_string(n) + " is larger than " + hold + " (each entry needs at least " +
                std::to_string(min_bytes) + " bytes, " + std::to_string(c.remaining()) +
                " remain: truncated or corrupt file)");
    };
    if (n_kv > c.remaining() / kMinKeyValueBytes) {
        count_error("key-value count", n_kv, kMinKeyValueBytes, "the file could hold");
    }
    if (n_tensors > c.remaining() / kMinTensorInfoBytes) {
        count_error("tensor count", n_tensors, kMinTensorInfoBytes, "the file could hold");
    }

    c.take_values(n_kv, "key-value count");
    kvs_.reserve(static_cast<size_t>(std::min(n_kv, kMaxReserve)));
    for (uint64_t k = 0; k < n_kv; ++k) {
        const std::string id = "key #" + std::to_string(k);
        KeyValue kv;
        kv.key = c.read_string(id);
        if (kv.key.empty()) c.error(id + " is empty");
        const std::string where = "value of key '" + kv.key + "'";
        const uint32_t type = c.read<uint32_t>(where + " type");
        if (!is_valid_value_type(type)) c.error(where + " has unknown type " + std::to_string(type));
        kv.value = read_value(c, static_cast<ValueType>(type), 0, where);
        kvs_.push_back(std::move(kv));
    }
    for (size_t k = 0; k < kvs_.size(); ++k) {
        if (!kv_index_.emplace(kvs_[k].key, k).second) c.error("duplicate key '" + kvs_[k].key + "'");
    }

    if (const Value* a = find(kKeyAlignment)) {
        if (a->type != ValueType::UINT32) {
            c.error(std::string("key '") + kKeyAlignment + "' must be u32, found " + value_type_name(a->type));
        }
        if (a->u == 0 || (a->u & (a->u - 1)) != 0) {
            c.error(std::string("key '") + kKeyAlignment + "' is " + std::to_string(a->u) +
                    ", not a non-zero power of two");
        }
        alignment_ = static_cast<size_t>(a->u);
    }

    if (n_tensors > c.remaining() / kMinTensorInfoBytes) {
        count_error("tensor count", n_tensors, kMinTensorInfoBytes, "the rest of the file could hold");
    }
    tensors_.reserve(static_cast<size_t>(std::min(n_tensors, kMaxReserve)));
    for (uint64_t k = 0; k < n_tensors; ++k) {
        TensorInfo t;
        t.name = c.read_string("name of tensor #" + std::to_string(k));
        if (t.name.empty()) c.error("tensor #" + std::to_string(k) + " has an empty name");
        const std::string id = "tensor '" + t.name + "'";
        const uint32_t n_dims = c.read<uint32_t>(id + " dimension count");
        if (n_dims > static_cast<uint32_t>(kMaxDims)) {
            c.error(id + " has " + std::to_string(n_dims) + " dimensions (at most " + std::to_string(kMaxDims) + ")");
        }
        t.n_dims = static_cast<int>(n_dims);
        for (uint32_t d = 0; d < n_dims; ++d) t.ne[d] = c.read<int64_t>(id + " shape");
        const uint32_t type = c.read<uint32_t>(id + " type");
        t.offset = c.read<uint64_t>(id + " data offset");
        const std::string problem = check_tensor_shape(type, n_dims, t.ne, &t.n_bytes);
        if (!problem.empty()) c.error(id + ": " + problem);
        t.type = static_cast<GgmlType>(type);
        tensors_.push_back(std::move(t));
    }
    for (size_t k = 0; k < tensors_.size(); ++k) {
        if (!tensor_index_.emplace(tensors_[k].name, k).second) {
            c.error("duplicate tensor name '" + tensors_[k].name + "'");
        }
    }

    // The data section starts at the next alignment boundary after the tensor infos.
    data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
    for (TensorInfo& t : tensors_) {
        if (t.offset % alignment_ != 0) {
            c.error("tensor '" + t.name + "' data offset " + std::to_string(t.offset) +
                    " is not a multiple of the alignment " + std::to_string(alignment_));
        }
        const bool inside = data_offset_ <= size_ && t.offset <= size_ - data_offset_ &&
                            t.n_bytes <= size_ - data_offset_ - t.offset;
        if (!inside) {
            c.error("tensor '" + t.name + "' data (" + std::to_string(t.n_bytes) + " bytes at data offset " +
                    std::to_string(t.offset) + ", file offset " + std::to_string(data_offset_) + " + " +
                    std::to_string(t.offset) + ") lies outside the file of " + std::to_string(size_) + " bytes");
        }
        t.data = base_ + data_offset_ + t.offset;
    }

    // Overlap check in offset order; ties and touching ranges are caught by start < previous end.
    std::vector<size_t> order(tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const TensorInfo& prev = tensors_[order[k - 1]];
        const TensorInfo& cur = tensors_[order[k]];
        if (cur.offset < prev.offset + prev.n_bytes) {
            c.error("tensor '" + cur.name + "' data overlaps tensor '" + prev.name + "'");
        }
    }
}

const Value* Reader::find(std::string_view key) const {
    const auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const TensorInfo* Reader::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

// Runs a conversion and rewrites its error to name the file and the key.
template <class Fn>
auto with_key(const std::string& path, std::string_view key, Fn&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const Error& e) {
        fail(e.status(), "'" + path + "': key '" + std::string(key) + "': " + e.what());
    }
}

}  // namespace

std::string Reader::get_string(std::string_view key, const std::string& fallback) const {
    const Value* v = find(key);
    if (v == nullptr) return fallback;
    if (v->type != ValueType::STRING) {
        fail(MOECPU_ERR_BAD_FORMAT, "'" + path_ + "': key '" + std::string(key) + "' should be a string, found " +
                                        value_type_name(v->type));
    }
    return v->str;
}

uint64_t Reader::get_u64(std::string_view key, uint64_t fallback) const {
    const Value* v = find(key);
    return v == nullptr ? fallback : with_key(path_, key, [&] { return v->as_u64(); });
}

int64_t Reader::get_i64(std::string_view key, int64_t fallback) const {
    const Value* v = find(key);
    return v == nullptr ? fallback : with_key(path_, key, [&] { return v->as_i64(); });
}

double Reader::get_f64(std::string_view key, double fallback) const {
    const Value* v = find(key);
    return v == nullptr ? fallback : with_key(path_, key, [&] { return v->as_f64(); });
}

bool Reader::get_bool(std::string_view key, bool fallback) const {
    const Value* v = find(key);
    if (v == nullptr) return fallback;
    if (v->type != ValueType::BOOL) {
        fail(MOECPU_ERR_BAD_FORMAT, "'" + path_ + "': key '" + std::string(key) + "' should be a bool, found " +
                                        value_type_name(v->type));
    }
    return v->u != 0;
}

}  // namespace moecpu::gguf
