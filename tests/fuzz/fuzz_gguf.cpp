// libFuzzer target: arbitrary bytes through the GGUF reader. A valid parse is walked completely
// (every value, every byte range a tensor claims) so ASan/UBSan see any bad pointer or length.
#include <cstddef>
#include <cstdint>

#include "lib/src/error.h"
#include "lib/src/gguf.h"

// Visible outside this file, so the reads that feed it cannot be optimised away.
uint64_t g_sink = 0;

namespace {

void walk(const moecpu::gguf::Value& v) {
    using moecpu::gguf::ValueType;
    g_sink += v.u + static_cast<uint64_t>(v.i) + static_cast<uint64_t>(v.f == v.f) + v.str.size();
    if (!v.str.empty()) g_sink += static_cast<unsigned char>(v.str.back());
    if (v.type == ValueType::ARRAY) {
        for (const auto& e : v.array) walk(e);
    }
    try {
        g_sink += static_cast<uint64_t>(v.as_f64() > 0.0);
        g_sink += v.as_u64();
        g_sink += static_cast<uint64_t>(v.as_i64());
    } catch (const moecpu::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto reader = moecpu::gguf::Reader::from_memory(data, size, "fuzz-input");
        for (const auto& kv : reader->kvs()) {
            g_sink += kv.key.size();
            walk(kv.value);
            if (reader->find(kv.key) != &kv.value) __builtin_trap();
        }
        for (const auto& t : reader->tensors()) {
            if (reader->find_tensor(t.name) != &t) __builtin_trap();
            g_sink += static_cast<uint64_t>(t.n_elements());
            // First and last byte of the claimed data must lie inside the input.
            g_sink += t.data[0] + t.data[t.n_bytes - 1];
        }
        try {
            g_sink += reader->get_string("general.architecture").size();
            g_sink += reader->get_u64("general.alignment", 0);
            g_sink += static_cast<uint64_t>(reader->get_bool("general.bool", false));
        } catch (const moecpu::Error&) {
        }
    } catch (const moecpu::Error&) {
        // Rejecting the input is the expected outcome for most inputs.
    }
    return 0;
}
