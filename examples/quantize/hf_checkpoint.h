// A Hugging Face model directory as the converter sees it: `config.json` (parsed), the tokenizer
// files, and the safetensors tensors (single file or shards). Typed config getters throw an Error
// naming config.json and the key, so a missing or malformed hyper-parameter is reported clearly.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "quant/safetensors.h"

namespace moecpu::convert {

class HfCheckpoint {
public:
    // Reads config.json and opens (and validates) every safetensors file of `dir`.
    static std::unique_ptr<HfCheckpoint> open(const std::string& dir);

    const std::string& dir() const { return dir_; }
    std::string file(const std::string& name) const;  // path of a file in the directory
    bool has_file(const std::string& name) const;
    const nlohmann::json& config() const { return config_; }
    const safetensors::Checkpoint& tensors() const { return *tensors_; }
    // The directory's last path component ("DeepSeek-V3"), the default general.name.
    std::string name() const;

    // Config values. A key holding JSON null counts as absent.
    bool has(const std::string& key) const;
    int64_t get_int(const std::string& key) const;
    int64_t get_int(const std::string& key, int64_t fallback) const;
    std::optional<int64_t> find_int(const std::string& key) const;
    double get_float(const std::string& key) const;
    double get_float(const std::string& key, double fallback) const;
    std::optional<double> find_float(const std::string& key) const;
    bool get_bool(const std::string& key, bool fallback) const;
    std::string get_string(const std::string& key, const std::string& fallback) const;
    // A sub-object (e.g. "rope_scaling"); null when absent or null.
    const nlohmann::json* find_object(const std::string& key) const;

    std::string config_path() const { return file("config.json"); }

private:
    HfCheckpoint() = default;

    std::string dir_;
    nlohmann::json config_;
    std::unique_ptr<safetensors::Checkpoint> tensors_;
};

using safetensors::read_json_file;

}  // namespace moecpu::convert
