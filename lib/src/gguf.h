// GGUF v3 reading (zero-copy over a read-only memory map) and writing (streamed, atomic).
// Layout facts follow ggml's gguf.cpp: little-endian; header = magic "GGUF", u32 version,
// i64 tensor count, i64 key-value count; strings are u64 length + bytes; tensor data starts at
// the first `general.alignment` (default 32) multiple after the tensor infos.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "quant/ggml_types.h"

namespace moecpu {
class MappedFile;
}

namespace moecpu::gguf {

constexpr uint32_t kMagic = 0x46554747u;  // "GGUF" read as a little-endian u32
constexpr uint32_t kVersion = 3;
constexpr size_t kDefaultAlignment = 32;
constexpr int kMaxDims = 4;
constexpr size_t kMaxTensorNameLength = 63;  // ggml's GGML_MAX_NAME (64) includes the NUL
constexpr int kMaxArrayNesting = 8;          // arrays of arrays deeper than this are rejected
constexpr const char* kKeyAlignment = "general.alignment";

enum class ValueType : uint32_t {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* value_type_name(ValueType t);

// One metadata value. Arrays may nest (an array of arrays); array elements share one type.
struct Value {
    ValueType type = ValueType::UINT32;
    uint64_t u = 0;   // UINT8/16/32/64, BOOL
    int64_t i = 0;    // INT8/16/32/64
    double f = 0.0;   // FLOAT32/64
    std::string str;  // STRING
    ValueType array_type = ValueType::UINT8;  // ARRAY: element type
    std::vector<Value> array;                 // ARRAY: elements

    static Value make_u8(uint8_t v);
    static Value make_i8(int8_t v);
    static Value make_u16(uint16_t v);
    static Value make_i16(int16_t v);
    static Value make_u32(uint32_t v);
    static Value make_i32(int32_t v);
    static Value make_u64(uint64_t v);
    static Value make_i64(int64_t v);
    static Value make_f32(float v);
    static Value make_f64(double v);
    static Value make_bool(bool v);
    static Value make_string(std::string v);
    static Value make_array(ValueType elem_type, std::vector<Value> elems);
    static Value make_string_array(const std::vector<std::string>& elems);
    static Value make_f32_array(const std::vector<float>& elems);
    static Value make_i32_array(const std::vector<int32_t>& elems);

    // Numeric value as the requested kind; throws Error(BAD_FORMAT) on a non-numeric type.
    uint64_t as_u64() const;
    int64_t as_i64() const;
    double as_f64() const;
};

struct KeyValue {
    std::string key;
    Value value;
};

struct TensorInfo {
    std::string name;
    GgmlType type = GgmlType::F32;
    int n_dims = 0;
    int64_t ne[kMaxDims] = {1, 1, 1, 1};  // ne[0] is the contiguous (row) dimension, as in ggml
    uint64_t offset = 0;   // relative to the start of the data section
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;  // view into the mapping (reader only)

    int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

// Checks a tensor declaration against the format's rules: known type id, 1..kMaxDims dims (0 is
// read as a scalar), every dimension > 0, element count and byte size within int64, row length a
// multiple of the block size. Returns "" and sets *n_bytes, or a sentence describing the problem.
std::string check_tensor_shape(uint32_t type_id, uint32_t n_dims, const int64_t* ne,
                               uint64_t* n_bytes);

// Read-only view of a GGUF file. open() memory-maps the file; from_memory() parses a buffer the
// caller keeps alive (fuzzing, tests). Every structural problem throws moecpu::Error with
// MOECPU_ERR_BAD_FORMAT (or _IO / _UNSUPPORTED) and a message naming the file and the problem.
class Reader {
public:
    // use_mmap = false reads the whole file into an aligned heap buffer instead of mapping it.
    static std::unique_ptr<Reader> open(const std::string& path, bool use_mmap = true);
    static std::unique_ptr<Reader> from_memory(const uint8_t* data, size_t size, std::string name);
    ~Reader();

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    size_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }  // absolute file offset of tensor data
    uint64_t file_size() const { return size_; }
    const uint8_t* file_data() const { return base_; }
    // The mapping behind open() (paging hints, mlock); null for from_memory().
    const MappedFile* mapped_file() const { return file_.get(); }

    const std::vector<KeyValue>& kvs() const { return kvs_; }
    const Value* find(std::string_view key) const;  // null if absent
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const;  // null if absent

    // Typed getters: throw Error(BAD_FORMAT) naming the key when present with the wrong type;
    // return `fallback` when absent.
    std::string get_string(std::string_view key, const std::string& fallback = "") const;
    uint64_t get_u64(std::string_view key, uint64_t fallback) const;
    int64_t get_i64(std::string_view key, int64_t fallback) const;
    double get_f64(std::string_view key, double fallback) const;
    bool get_bool(std::string_view key, bool fallback) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

private:
    Reader() = default;
    void parse();

    std::string path_;
    const uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
    std::unique_ptr<MappedFile> file_;  // owns base_ when opened from a path
    uint32_t version_ = 0;
    size_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::vector<KeyValue> kvs_;
    std::vector<TensorInfo> tensors_;
    // Built once parsing is done; the views point into kvs_ / tensors_, which no longer change.
    std::unordered_map<std::string_view, size_t> kv_index_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
};

// Streams a GGUF file: set keys, declare every tensor (name, type, shape), then write each
// tensor's bytes in declaration order. The file appears at `path` only when finish() succeeds
// (written to a temporary sibling and renamed); destroying an unfinished writer removes it.
class Writer {
public:
    explicit Writer(std::string path, size_t alignment = kDefaultAlignment);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void set(std::string key, Value value);  // replaces an existing key of the same name
    // ne[0] is the row length; dims beyond n_dims ignored.
    void add_tensor(std::string name, GgmlType type, int n_dims, const int64_t* ne);
    // Appends bytes of the current tensor; a tensor may be written in several calls.
    // The header is written on the first call. Tensors must be completed in declaration order.
    void write_tensor_data(const void* data, size_t n_bytes);
    void finish();  // checks every tensor got exactly its bytes, pads, fsyncs, renames

    const std::string& path() const;
    // Bytes of the declared tensor (as the reader will report it).
    uint64_t tensor_bytes(std::string_view name) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace moecpu::gguf
