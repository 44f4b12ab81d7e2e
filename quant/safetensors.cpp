// safetensors parsing and row-wise conversion to float32 (see safetensors.h).
#include "quant/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "lib/src/error.h"
#include "lib/src/mapped_file.h"
#include "quant/fp16.h"
#include "quant/fp8.h"

namespace moecpu::safetensors {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A header larger than this is not a checkpoint header (the real ones are a few MB at most).
constexpr uint64_t kMaxHeaderBytes = uint64_t{256} << 20;
constexpr const char* kIndexFileName = "model.safetensors.index.json";
constexpr std::string_view kScaleSuffix = "_scale_inv";

struct DTypeInfo {
    DType type;
    const char* name;
    size_t size;
    bool convertible;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8, false},        {DType::F32, "F32", 4, true},
    {DType::F16, "F16", 2, true},         {DType::BF16, "BF16", 2, true},
    {DType::F8_E4M3, "F8_E4M3", 1, true}, {DType::F8_E5M2, "F8_E5M2", 1, false},
    {DType::I64, "I64", 8, false},        {DType::I32, "I32", 4, false},
    {DType::I16, "I16", 2, false},        {DType::I8, "I8", 1, false},
    {DType::U8, "U8", 1, false},          {DType::BOOL, "BOOL", 1, false},
};

const DTypeInfo& info_of(DType t) {
    for (const DTypeInfo& d : kDTypes)
        if (d.type == t) return d;
    return kDTypes[1];
}

[[noreturn]] void bad_file(const std::string& path, const std::string& what) {
    fail(MOECPU_ERR_BAD_FORMAT, "safetensors file '" + path + "': " + what);
}

// Product of dims with overflow detection; false when it does not fit in int64.
bool checked_elements(const std::vector<int64_t>& shape, int64_t* out) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) return false;
        if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return false;
        n *= d;
    }
    *out = n;
    return true;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// Converts n consecutive elements of a convertible dtype to float32 (FP8 without its scale).
void convert_to_f32(DType t, const uint8_t* src, float* dst, int64_t n) {
    switch (t) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case DType::F16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, src + 2 * i, 2);
                dst[i] = fp16_to_fp32(h);
            }
            return;
        case DType::BF16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, src + 2 * i, 2);
                dst[i] = bf16_to_fp32(h);
            }
            return;
        case DType::F8_E4M3: fp8_e4m3_to_fp32_row(src, dst, n); return;
        default: break;
    }
    fail(MOECPU_ERR_INTERNAL, std::string("safetensors: dtype ") + info_of(t).name + " is not convertible");
}


}  // namespace

const char* dtype_name(DType t) { return info_of(t).name; }
size_t dtype_size(DType t) { return info_of(t).size; }
bool dtype_is_convertible(DType t) { return info_of(t).convertible; }

bool dtype_from_name(std::string_view name, DType* out) {
    for (const DTypeInfo& d : kDTypes) {
        if (name == d.name) {
            *out = d.type;
            return true;
        }
    }
    return false;
}

int64_t TensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

// ---- File -----------------------------------------------------------------------------------

File::~File() = default;

std::unique_ptr<File> File::open(const std::string& path) {
    std::unique_ptr<File> f(new File());
    f->path_ = path;
    f->mapping_ = MappedFile::open(path);
    f->parse(f->mapping_->data(), f->mapping_->size());
    return f;
}

std::unique_ptr<File> File::from_memory(const uint8_t* data, size_t size, std::string path) {
    std::unique_ptr<File> f(new File());
    f->path_ = std::move(path);
    f->parse(data, size);
    return f;
}

void File::parse(const uint8_t* data, uint64_t size) {
    if (size < 8) bad_file(path_, "file is " + std::to_string(size) + " bytes, too short for the header length");
    uint64_t header_len;
    std::memcpy(&header_len, data, 8);
    if (header_len > size - 8) {
        bad_file(path_, "header length " + std::to_string(header_len) + " exceeds the file size " +
                            std::to_string(size));
    }
    if (header_len > kMaxHeaderBytes) bad_file(path_, "header length " + std::to_string(header_len) + " is implausible");
    const char* header = reinterpret_cast<const char*>(data + 8);
    json doc;
    try {
        doc = json::parse(header, header + header_len);
    } catch (const json::exception& e) {
        bad_file(path_, std::string("header is not valid JSON: ") + e.what());
    }
    if (!doc.is_object()) bad_file(path_, "header is not a JSON object");

    const uint8_t* data_section = data + 8 + header_len;
    const uint64_t data_size = size - 8 - header_len;

    struct Span {
        uint64_t begin, end;
        size_t tensor;
    };
    std::vector<Span> spans;

    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const std::string& name = it.key();
        const json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) bad_file(path_, "__metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string()) bad_file(path_, "__metadata__ value '" + m.key() + "' is not a string");
                metadata_[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string where = "tensor '" + name + "'";
        if (name.empty()) bad_file(path_, "a tensor has an empty name");
        if (!v.is_object()) bad_file(path_, where + " is not described by an object");
        if (!v.contains("dtype") || !v["dtype"].is_string()) bad_file(path_, where + " has no string 'dtype'");
        if (!v.contains("shape") || !v["shape"].is_array()) bad_file(path_, where + " has no array 'shape'");
        if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2) {
            bad_file(path_, where + " has no 'data_offsets' pair");
        }

        TensorInfo t;
        t.name = name;
        t.file = path_;
        const std::string dtype = v["dtype"].get<std::string>();
        if (!dtype_from_name(dtype, &t.dtype)) bad_file(path_, where + " has unknown dtype '" + dtype + "'");
        for (const json& d : v["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0) bad_file(path_, where + " has a dimension that is not a non-negative integer");
            t.shape.push_back(d.get<int64_t>());
        }
        int64_t n_elements = 0;
        if (!checked_elements(t.shape, &n_elements) ||
            static_cast<uint64_t>(n_elements) > std::numeric_limits<uint64_t>::max() / dtype_size(t.dtype)) {
            bad_file(path_, where + " shape " + shape_string(t.shape) + " is too large");
        }
        const json& off = v["data_offsets"];
        if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
            bad_file(path_, where + " data_offsets are not non-negative integers");
        }
        const uint64_t begin = off[0].get<uint64_t>();
        const uint64_t end = off[1].get<uint64_t>();
        if (begin > end) bad_file(path_, where + " data_offsets begin after they end");
        if (end > data_size) {
            bad_file(path_, where + " data_offsets end at " + std::to_string(end) + ", past the data section (" +
                                std::to_string(data_size) + " bytes)");
        }
        t.n_bytes = static_cast<uint64_t>(n_elements) * dtype_size(t.dtype);
        if (end - begin != t.n_bytes) {
            bad_file(path_, where + " holds " + std::to_string(end - begin) + " bytes but dtype " + dtype + " x shape " +
                                shape_string(t.shape) + " needs " + std::to_string(t.n_bytes));
        }
        t.data = data_section + begin;
        spans.push_back({begin, end, tensors_.size()});
        tensors_.push_back(std::move(t));
    }

    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < spans.size(); ++i) {
        if (spans[i].begin < spans[i - 1].end) {
            bad_file(path_, "tensors '" + tensors_[spans[i - 1].tensor].name + "' and '" + tensors_[spans[i].tensor].name +
                                "' overlap");
        }
    }
    for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const TensorInfo* File::find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

// ---- Checkpoint -------------------------------------------------------------------------------

Checkpoint::~Checkpoint() = default;

void Checkpoint::add_file(std::unique_ptr<File> file) {
    for (const TensorInfo& t : file->tensors()) {
        auto [it, inserted] = index_.emplace(t.name, &t);
        if (!inserted) {
            fail(MOECPU_ERR_BAD_FORMAT, "tensor '" + t.name + "' is defined in both '" + it->second->file + "' and '" +
                                            t.file + "'");
        }
    }
    files_.push_back(std::move(file));
}

std::unique_ptr<Checkpoint> Checkpoint::open_files(const std::vector<std::string>& paths) {
    std::unique_ptr<Checkpoint> c(new Checkpoint());
    for (const std::string& p : paths) c->add_file(File::open(p));
    c->description_ = paths.size() == 1 ? "'" + paths[0] + "'" : std::to_string(paths.size()) + " safetensors files";
    return c;
}

std::unique_ptr<Checkpoint> Checkpoint::open_directory(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(MOECPU_ERR_IO, "'" + dir + "' is not a directory");
    const fs::path index_path = fs::path(dir) / kIndexFileName;
    if (!fs::exists(index_path, ec)) {
        // No index: the model*.safetensors files (llama.cpp's choice), else every *.safetensors
        // file, in name order.
        std::vector<std::string> paths, model_paths;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (!entry.is_regular_file() || entry.path().extension() != ".safetensors") continue;
            paths.push_back(entry.path().string());
            if (entry.path().filename().string().rfind("model", 0) == 0) model_paths.push_back(entry.path().string());
        }
        if (paths.empty()) fail(MOECPU_ERR_IO, "'" + dir + "' holds no *.safetensors file and no " + kIndexFileName);
        if (!model_paths.empty()) paths = model_paths;
        std::sort(paths.begin(), paths.end());
        auto c = open_files(paths);
        c->description_ = "'" + dir + "'";
        return c;
    }

    const std::string index_file = index_path.string();
    const json index = read_json_file(index_file);
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
        fail(MOECPU_ERR_BAD_FORMAT, "'" + index_file + "' has no 'weight_map' object");
    }
    std::set<std::string> shards;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
        if (!it.value().is_string()) fail(MOECPU_ERR_BAD_FORMAT, "'" + index_file + "': weight_map entry '" + it.key() + "' is not a file name");
        const std::string shard = it.value().get<std::string>();
        if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..") {
            fail(MOECPU_ERR_BAD_FORMAT, "'" + index_file + "': shard name '" + shard + "' is not a plain file name");
        }
        shards.insert(shard);
    }
    if (shards.empty()) fail(MOECPU_ERR_BAD_FORMAT, "'" + index_file + "' lists no tensors");
    for (const std::string& shard : shards) {
        if (!fs::exists(fs::path(dir) / shard, ec)) {
            fail(MOECPU_ERR_IO, "shard '" + shard + "' listed in '" + index_file + "' is missing from '" + dir + "'");
        }
    }
    std::unique_ptr<Checkpoint> c(new Checkpoint());
    for (const std::string& shard : shards) c->add_file(File::open((fs::path(dir) / shard).string()));
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
        const TensorInfo* t = c->find(it.key());
        const std::string shard = it.value().get<std::string>();
        if (t == nullptr || fs::path(t->file).filename() != shard) {
            fail(MOECPU_ERR_BAD_FORMAT, "'" + index_file + "' places tensor '" + it.key() + "' in shard '" + shard +
                                            "', which does not hold it");
        }
    }
    c->description_ = "'" + dir + "'";
    return c;
}

void Checkpoint::set_fp8_block(int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0) fail(MOECPU_ERR_INVALID_ARGUMENT, "FP8 block size must be positive");
    fp8_block_rows_ = rows;
    fp8_block_cols_ = cols;
}

const TensorInfo* Checkpoint::find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second;
}

const TensorInfo& Checkpoint::get(std::string_view name) const {
    const TensorInfo* t = find(name);
    if (t == nullptr) fail(MOECPU_ERR_BAD_FORMAT, "checkpoint " + description_ + " has no tensor '" + std::string(name) + "'");
    return *t;
}

std::vector<std::string> Checkpoint::names() const {
    std::vector<std::string> out;
    out.reserve(index_.size());
    for (const auto& [name, t] : index_) out.emplace_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

bool Checkpoint::is_scale_tensor_name(std::string_view name) {
    return name.size() > kScaleSuffix.size() && name.substr(name.size() - kScaleSuffix.size()) == kScaleSuffix;
}

void Checkpoint::read_rows_f32(std::string_view name, int64_t row_begin, int64_t row_count, float* out) const {
    const TensorInfo& t = get(name);
    const std::string where = "tensor '" + t.name + "' in '" + t.file + "'";
    if (!dtype_is_convertible(t.dtype)) {
        fail(MOECPU_ERR_UNSUPPORTED, where + " has dtype " + dtype_name(t.dtype) + ", which does not convert to float");
    }
    const int64_t n_rows = t.row_count();
    const int64_t n_cols = t.row_length();
    if (row_begin < 0 || row_count < 0 || row_begin > n_rows || row_count > n_rows - row_begin) {
        fail(MOECPU_ERR_INVALID_ARGUMENT, where + ": rows [" + std::to_string(row_begin) + ", +" +
                                              std::to_string(row_count) + ") outside its " + std::to_string(n_rows) + " rows");
    }
    const size_t elem = dtype_size(t.dtype);
    const uint8_t* src = t.data + static_cast<uint64_t>(row_begin) * static_cast<uint64_t>(n_cols) * elem;
    convert_to_f32(t.dtype, src, out, row_count * n_cols);
    if (t.dtype != DType::F8_E4M3) return;

    // FP8: multiply each weight by the scale of its block.
    const std::string scale_name = t.name + std::string(kScaleSuffix);
    const TensorInfo* s = find(scale_name);
    if (s == nullptr) fail(MOECPU_ERR_BAD_FORMAT, where + " is FP8 but its scale tensor '" + scale_name + "' is missing");
    if (t.shape.size() != 2) fail(MOECPU_ERR_UNSUPPORTED, where + " is FP8 but not 2-D; block scales need a matrix");
    const int64_t want_r = (n_rows + fp8_block_rows_ - 1) / fp8_block_rows_;
    const int64_t want_c = (n_cols + fp8_block_cols_ - 1) / fp8_block_cols_;
    if (s->shape.size() != 2 || s->shape[0] != want_r || s->shape[1] != want_c) {
        fail(MOECPU_ERR_BAD_FORMAT, "scale tensor '" + scale_name + "' has shape " + shape_string(s->shape) + ", expected [" +
                                        std::to_string(want_r) + ", " + std::to_string(want_c) + "] for " + where +
                                        " of shape " + shape_string(t.shape));
    }
    if (!dtype_is_convertible(s->dtype) || s->dtype == DType::F8_E4M3) {
        fail(MOECPU_ERR_UNSUPPORTED, "scale tensor '" + scale_name + "' has dtype " + dtype_name(s->dtype));
    }
    std::vector<float> scales(static_cast<size_t>(want_c));
    int64_t loaded_block_row = -1;
    for (int64_t r = 0; r < row_count; ++r) {
        const int64_t block_row = (row_begin + r) / fp8_block_rows_;
        if (block_row != loaded_block_row) {
            convert_to_f32(s->dtype, s->data + static_cast<uint64_t>(block_row * want_c) * dtype_size(s->dtype), scales.data(),
                           want_c);
            loaded_block_row = block_row;
        }
        float* row = out + r * n_cols;
        for (int64_t c = 0; c < n_cols; ++c) row[c] *= scales[static_cast<size_t>(c / fp8_block_cols_)];
    }
}

json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(MOECPU_ERR_IO, "cannot open '" + path + "'");
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        fail(MOECPU_ERR_BAD_FORMAT, "'" + path + "' is not valid JSON: " + e.what());
    }
}

}  // namespace moecpu::safetensors
