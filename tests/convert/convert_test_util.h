// Helpers for the converter tests: scratch directories and hand-made safetensors files.
#pragma once
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moecpu::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

struct StTensor {
    std::string name;
    std::string dtype;  // "F32", "BF16", "F8_E4M3", ...
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};

template <class T>
std::vector<uint8_t> as_bytes(const std::vector<T>& v) {
    std::vector<uint8_t> b(v.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}

// A complete safetensors file image: tensors stored back to back in the given order.
std::vector<uint8_t> build_safetensors(const std::vector<StTensor>& tensors);
// A file image with `header` as its JSON text and `data_size` zero bytes of data.
std::vector<uint8_t> raw_safetensors(const std::string& header, size_t data_size);
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

std::string data_dir();  // tests/data

}  // namespace moecpu::test
