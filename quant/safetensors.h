// Read-only access to Hugging Face safetensors checkpoints, as the converter needs them.
//
// File layout: u64 little-endian header length N, N bytes of JSON, then the data section. The JSON
// maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
// the data section) plus an optional "__metadata__" object of strings. Every file is memory-mapped
// read-only and its header validated in full when opened, so a broken checkpoint fails before any
// output is written.
//
// A Checkpoint is one file or a set of shards listed by `model.safetensors.index.json`. Tensors are
// read row by row into float32 (`read_rows_f32`), so a converter holds only the rows it works on.
// FP8 (F8_E4M3) weights are dequantized on the way with their `<name>_scale_inv` sibling: one float
// per block of 128 x 128 weights, w[r][c] = fp8[r][c] * scale_inv[r / 128][c / 128] in float32.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace moecpu {
class MappedFile;
}

namespace moecpu::safetensors {

// Every dtype the format defines that a DeepSeek checkpoint may carry. Only F32, F16, BF16 and
// F8_E4M3 convert to float; the others are listed so their sizes validate, and reading one fails.
enum class DType { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL };

const char* dtype_name(DType t);
size_t dtype_size(DType t);
bool dtype_is_convertible(DType t);
// False if `name` is not a safetensors dtype spelling.
bool dtype_from_name(std::string_view name, DType* out);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;   // row-major, outermost first (PyTorch order)
    const uint8_t* data = nullptr;  // into the mapping
    uint64_t n_bytes = 0;
    std::string file;  // path of the file holding it

    int64_t n_elements() const;
    // The last dimension is the row; everything before it counts rows. A 0-D tensor is 1 x 1.
    int64_t row_length() const { return shape.empty() ? 1 : shape.back(); }
    int64_t row_count() const { return row_length() == 0 ? 0 : n_elements() / row_length(); }
};

// One .safetensors file, mapped and validated.
class File {
public:
    // Throws moecpu::Error (BAD_FORMAT / IO) naming the file and the problem.
    static std::unique_ptr<File> open(const std::string& path);
    // Parses a buffer the caller keeps alive (tests); `path` only names it in messages.
    static std::unique_ptr<File> from_memory(const uint8_t* data, size_t size, std::string path);
    ~File();

    const std::string& path() const { return path_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find(std::string_view name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

private:
    File() = default;
    void parse(const uint8_t* data, uint64_t size);

    std::string path_;
    std::unique_ptr<MappedFile> mapping_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string_view, size_t> index_;
    std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint, wherever they are stored.
class Checkpoint {
public:
    // `dir` holds `model.safetensors.index.json` (sharded) or `*.safetensors` files (all loaded).
    // A shard the index names but the directory lacks, a tensor the index places in a shard that
    // does not hold it, or a name defined twice is an error naming the file.
    static std::unique_ptr<Checkpoint> open_directory(const std::string& dir);
    static std::unique_ptr<Checkpoint> open_files(const std::vector<std::string>& paths);
    ~Checkpoint();

    // Side of the square FP8 scale blocks (DeepSeek: 128, from `weight_block_size`).
    void set_fp8_block(int64_t rows, int64_t cols);

    const TensorInfo* find(std::string_view name) const;
    const TensorInfo& get(std::string_view name) const;  // throws naming the tensor when absent
    bool has(std::string_view name) const { return find(name) != nullptr; }
    std::vector<std::string> names() const;  // sorted
    const std::string& description() const { return description_; }  // for messages

    // Converts rows [row_begin, row_begin + row_count) of `name` (rows as TensorInfo defines them)
    // to float32 into `out` (row_count * row_length floats). FP8 weights are scaled by their
    // `<name>_scale_inv` blocks. Throws naming the tensor on a range outside the tensor, a dtype
    // that does not convert, or a missing / misshapen scale tensor.
    void read_rows_f32(std::string_view name, int64_t row_begin, int64_t row_count, float* out) const;

    // Names of the FP8 scale tensors (`*_scale_inv`) consumed by read_rows_f32.
    static bool is_scale_tensor_name(std::string_view name);

private:
    Checkpoint() = default;
    void add_file(std::unique_ptr<File> file);

    std::vector<std::unique_ptr<File>> files_;
    std::unordered_map<std::string_view, const TensorInfo*> index_;
    std::string description_;
    int64_t fp8_block_rows_ = 128;
    int64_t fp8_block_cols_ = 128;
};

// Reads a JSON file (config.json, the shard index, tokenizer files); throws Error(IO /
// BAD_FORMAT) naming it.
nlohmann::json read_json_file(const std::string& path);

}  // namespace moecpu::safetensors
