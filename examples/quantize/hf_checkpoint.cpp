// Hugging Face directory access (see hf_checkpoint.h).
#include "examples/quantize/hf_checkpoint.h"

#include <filesystem>
#include <fstream>

#include "lib/src/error.h"

namespace moecpu::convert {

namespace fs = std::filesystem;
using json = nlohmann::json;


std::unique_ptr<HfCheckpoint> HfCheckpoint::open(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(MOECPU_ERR_IO, "input '" + dir + "' is not a directory");
    std::unique_ptr<HfCheckpoint> c(new HfCheckpoint());
    c->dir_ = dir;
    if (!c->has_file("config.json")) fail(MOECPU_ERR_IO, "'" + dir + "' has no config.json");
    c->config_ = read_json_file(c->config_path());
    if (!c->config_.is_object()) fail(MOECPU_ERR_BAD_FORMAT, "'" + c->config_path() + "' is not a JSON object");
    c->tensors_ = safetensors::Checkpoint::open_directory(dir);

    // FP8 checkpoints state their scale block; DeepSeek's is 128 x 128.
    if (const json* q = c->find_object("quantization_config")) {
        if (q->contains("weight_block_size")) {
            const json& b = (*q)["weight_block_size"];
            if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() || !b[1].is_number_integer() ||
                b[0].get<int64_t>() <= 0 || b[1].get<int64_t>() <= 0) {
                fail(MOECPU_ERR_BAD_FORMAT, "'" + c->config_path() + "': quantization_config.weight_block_size is not two positive integers");
            }
            c->tensors_->set_fp8_block(b[0].get<int64_t>(), b[1].get<int64_t>());
        }
    }
    return c;
}

std::string HfCheckpoint::file(const std::string& name) const { return (fs::path(dir_) / name).string(); }

bool HfCheckpoint::has_file(const std::string& name) const {
    std::error_code ec;
    return fs::is_regular_file(fs::path(dir_) / name, ec);
}

std::string HfCheckpoint::name() const {
    fs::path p = fs::path(dir_);
    if (!p.has_filename()) p = p.parent_path();  // "dir/" has an empty filename
    std::string n = p.filename().string();
    return n.empty() || n == "." ? "model" : n;
}

bool HfCheckpoint::has(const std::string& key) const { return config_.contains(key) && !config_[key].is_null(); }

std::optional<int64_t> HfCheckpoint::find_int(const std::string& key) const {
    if (!has(key)) return std::nullopt;
    const json& v = config_[key];
    // Some configs write integral values as 1.0; accept those, reject 1.5.
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))) {
        return static_cast<int64_t>(v.get<double>());
    }
    fail(MOECPU_ERR_BAD_FORMAT, "'" + config_path() + "': '" + key + "' is not an integer");
}

int64_t HfCheckpoint::get_int(const std::string& key) const {
    auto v = find_int(key);
    if (!v) fail(MOECPU_ERR_BAD_FORMAT, "'" + config_path() + "' has no '" + key + "'");
    return *v;
}

int64_t HfCheckpoint::get_int(const std::string& key, int64_t fallback) const { return find_int(key).value_or(fallback); }

std::optional<double> HfCheckpoint::find_float(const std::string& key) const {
    if (!has(key)) return std::nullopt;
    if (!config_[key].is_number()) fail(MOECPU_ERR_BAD_FORMAT, "'" + config_path() + "': '" + key + "' is not a number");
    return config_[key].get<double>();
}

double HfCheckpoint::get_float(const std::string& key) const {
    auto v = find_float(key);
    if (!v) fail(MOECPU_ERR_BAD_FORMAT, "'" + config_path() + "' has no '" + key + "'");
    return *v;
}

double HfCheckpoint::get_float(const std::string& key, double fallback) const { return find_float(key).value_or(fallback); }

bool HfCheckpoint::get_bool(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!config_[key].is_boolean()) fail(MOECPU_ERR_BAD_FORMAT, "'" + config_path() + "': '" + key + "' is not a boolean");
    return config_[key].get<bool>();
}

std::string HfCheckpoint::get_string(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!config_[key].is_string()) fail(MOECPU_ERR_BAD_FORMAT, "'" + config_path() + "': '" + key + "' is not a string");
    return config_[key].get<std::string>();
}

const json* HfCheckpoint::find_object(const std::string& key) const {
    if (!has(key)) return nullptr;
    if (!config_[key].is_object()) fail(MOECPU_ERR_BAD_FORMAT, "'" + config_path() + "': '" + key + "' is not an object");
    return &config_[key];
}

}  // namespace moecpu::convert
