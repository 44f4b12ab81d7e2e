// Streamed GGUF writing. Metadata and tensor declarations are kept in memory (small); tensor
// bytes pass straight through a fixed buffer to a temporary sibling file, which is renamed over
// `path` only when every declared byte has arrived and been synced.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "lib/src/error.h"
#include "lib/src/gguf.h"

namespace moecpu::gguf {

static_assert(std::endian::native == std::endian::little, "the GGUF writer assumes a little-endian host");

namespace {

constexpr size_t kBufferBytes = size_t{4} << 20;

uint64_t align_up(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

// Appends the little-endian encoding of metadata to a byte vector (the header is built whole
// before anything reaches the file, so its size and every tensor offset are known up front).
class HeaderBytes {
public:
    std::vector<uint8_t> bytes;

    void put_raw(const void* p, size_t n) {
        const size_t at = bytes.size();
        bytes.resize(at + n);
        if (n > 0) std::memcpy(bytes.data() + at, p, n);
    }
    template <class T>
    void put(T v) {
        put_raw(&v, sizeof(T));
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        put_raw(s.data(), s.size());
    }
    void put_value(const Value& v) {
        switch (v.type) {
            case ValueType::UINT8: put<uint8_t>(static_cast<uint8_t>(v.u)); break;
            case ValueType::INT8: put<int8_t>(static_cast<int8_t>(v.i)); break;
            case ValueType::UINT16: put<uint16_t>(static_cast<uint16_t>(v.u)); break;
            case ValueType::INT16: put<int16_t>(static_cast<int16_t>(v.i)); break;
            case ValueType::UINT32: put<uint32_t>(static_cast<uint32_t>(v.u)); break;
            case ValueType::INT32: put<int32_t>(static_cast<int32_t>(v.i)); break;
            case ValueType::FLOAT32: put<float>(static_cast<float>(v.f)); break;
            case ValueType::BOOL: put<uint8_t>(v.u != 0 ? 1 : 0); break;
            case ValueType::UINT64: put<uint64_t>(v.u); break;
            case ValueType::INT64: put<int64_t>(v.i); break;
            case ValueType::FLOAT64: put<double>(v.f); break;
            case ValueType::STRING: put_string(v.str); break;
            case ValueType::ARRAY:
                put<uint32_t>(static_cast<uint32_t>(v.array_type));
                put<uint64_t>(v.array.size());
                for (const Value& e : v.array) put_value(e);
                break;
        }
    }
};

// Checks a value is encodable: a known type, arrays homogeneous, nesting bounded.
void check_value(const Value& v, const std::string& key, int depth) {
    if (static_cast<uint32_t>(v.type) > static_cast<uint32_t>(ValueType::FLOAT64)) {
        fail(MOECPU_ERR_INVALID_ARGUMENT, "GGUF key '" + key + "': unknown value type " +
                                              std::to_string(static_cast<uint32_t>(v.type)));
    }
    if (v.type != ValueType::ARRAY) return;
    if (depth >= kMaxArrayNesting) {
        fail(MOECPU_ERR_INVALID_ARGUMENT, "GGUF key '" + key + "': arrays nested deeper than " +
                                              std::to_string(kMaxArrayNesting) + " levels");
    }
    for (const Value& e : v.array) {
        if (e.type != v.array_type) {
            fail(MOECPU_ERR_INVALID_ARGUMENT, "GGUF key '" + key + "': array of " + value_type_name(v.array_type) +
                                                  " holds an element of type " + value_type_name(e.type));
        }
        check_value(e, key, depth + 1);
    }
}

}  // namespace

struct Writer::Impl {
    struct Tensor {
        TensorInfo info;  // offset relative to the data section
    };

    std::string path;
    std::string tmp_path;
    size_t alignment = kDefaultAlignment;
    int fd = -1;
    bool finished = false;
    bool failed = false;  // after an I/O error nothing more is accepted
    bool header_written = false;

    std::vector<KeyValue> kvs;
    std::vector<Tensor> tensors;
    std::unordered_set<std::string> tensor_names;

    size_t current = 0;           // index of the tensor being written
    uint64_t current_written = 0;  // its bytes so far
    uint64_t file_pos = 0;         // bytes handed to the file (buffered or not)
    std::vector<uint8_t> buffer;

    [[noreturn]] void io_error(const std::string& what, int err) {
        failed = true;
        fail(MOECPU_ERR_IO, "'" + path + "': " + what + ": " + std::strerror(err));
    }
    [[noreturn]] void misuse(const std::string& what) const {
        fail(MOECPU_ERR_INVALID_ARGUMENT, "GGUF writer for '" + path + "': " + what);
    }
    void check_usable() const {
        if (finished) misuse("already finished");
        if (failed) misuse("an earlier write failed");
    }

    void write_all(const uint8_t* p, size_t n) {
        while (n > 0) {
            const ssize_t w = ::write(fd, p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                io_error("write to '" + tmp_path + "' failed", errno);
            }
            p += w;
            n -= static_cast<size_t>(w);
        }
    }
    void flush() {
        write_all(buffer.data(), buffer.size());
        buffer.clear();
    }
    // Every write but the last is one whole buffer at a multiple of kBufferBytes: the page cache
    // then holds the new file in 2 MiB folios (ext4, xfs on Linux 6.x), which a mapping of the
    // model maps with 2 MiB pages (V3-shaped Q2_K decode: 46.5 → 48.8 tokens/s, cached file
    // written in 4 MiB pieces against one written unaligned).
    void emit(const uint8_t* p, size_t n) {
        while (n > 0) {
            const size_t take = std::min(n, kBufferBytes - buffer.size());
            buffer.insert(buffer.end(), p, p + take);
            if (buffer.size() == kBufferBytes) flush();
            p += take;
            n -= take;
            file_pos += take;
        }
    }
    void emit_padding() {
        static constexpr uint8_t kZeros[256] = {};
        uint64_t pad = align_up(file_pos, alignment) - file_pos;
        while (pad > 0) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(pad, sizeof(kZeros)));
            emit(kZeros, n);
            pad -= n;
        }
    }

    void write_header() {
        HeaderBytes h;
        h.put<uint32_t>(kMagic);
        h.put<uint32_t>(kVersion);
        h.put<uint64_t>(tensors.size());
        h.put<uint64_t>(kvs.size());
        for (const KeyValue& kv : kvs) {
            h.put_string(kv.key);
            h.put<uint32_t>(static_cast<uint32_t>(kv.value.type));
            h.put_value(kv.value);
        }
        for (const Tensor& t : tensors) {
            h.put_string(t.info.name);
            h.put<uint32_t>(static_cast<uint32_t>(t.info.n_dims));
            for (int d = 0; d < t.info.n_dims; ++d) h.put<int64_t>(t.info.ne[d]);
            h.put<uint32_t>(static_cast<uint32_t>(t.info.type));
            h.put<uint64_t>(t.info.offset);
        }
        emit(h.bytes.data(), h.bytes.size());
        emit_padding();  // ggml pads the metadata even when there are no tensors
        header_written = true;
    }

    void ensure_header() {
        if (header_written) return;
        // llama.cpp writes general.alignment only when it differs from the default.
        bool has_alignment_key = false;
        for (const KeyValue& kv : kvs) has_alignment_key |= kv.key == kKeyAlignment;
        if (alignment != kDefaultAlignment && !has_alignment_key) {
            kvs.push_back({kKeyAlignment, Value::make_u32(static_cast<uint32_t>(alignment))});
        }
        write_header();
    }

    // Advances past tensors that are complete, padding each one to the alignment.
    void close_tensor_if_complete() {
        if (current < tensors.size() && current_written == tensors[current].info.n_bytes) {
            emit_padding();
            ++current;
            current_written = 0;
        }
    }

    void remove_temp() noexcept {
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
        if (!tmp_path.empty()) {
            ::unlink(tmp_path.c_str());
            tmp_path.clear();
        }
    }
};

Writer::Writer(std::string path, size_t alignment) : impl_(std::make_unique<Impl>()) {
    Impl& w = *impl_;
    w.path = std::move(path);
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > UINT32_MAX) {
        w.misuse("alignment " + std::to_string(alignment) + " is not a power of two that fits in u32");
    }
    w.alignment = alignment;
    w.buffer.reserve(kBufferBytes);

    std::string pattern = w.path + ".tmp-XXXXXX";
    w.fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (w.fd < 0) w.io_error("cannot create temporary file '" + pattern + "'", errno);
    w.tmp_path = pattern;
    // mkstemp makes the file 0600; a model file is ordinary data everyone may read.
    ::fchmod(w.fd, 0644);
}

Writer::~Writer() {
    if (impl_ && !impl_->finished) impl_->remove_temp();
}

const std::string& Writer::path() const { return impl_->path; }

void Writer::set(std::string key, Value value) {
    Impl& w = *impl_;
    w.check_usable();
    if (w.header_written) w.misuse("key '" + key + "' set after tensor data was started");
    if (key.empty()) w.misuse("empty key");
    check_value(value, key, 0);
    if (key == kKeyAlignment) {
        if (value.type != ValueType::UINT32 || value.u != w.alignment) {
            w.misuse(std::string("key '") + kKeyAlignment + "' must be the u32 " + std::to_string(w.alignment) +
                     " given to the writer");
        }
    }
    for (KeyValue& kv : w.kvs) {
        if (kv.key == key) {
            kv.value = std::move(value);
            return;
        }
    }
    w.kvs.push_back({std::move(key), std::move(value)});
}

void Writer::add_tensor(std::string name, GgmlType type, int n_dims, const int64_t* ne) {
    Impl& w = *impl_;
    w.check_usable();
    if (w.header_written) w.misuse("tensor '" + name + "' declared after tensor data was started");
    if (name.empty()) w.misuse("empty tensor name");
    if (name.size() > kMaxTensorNameLength) {
        w.misuse("tensor name '" + name + "' is longer than " + std::to_string(kMaxTensorNameLength) +
                 " bytes (llama.cpp rejects it)");
    }
    if (n_dims < 1 || n_dims > kMaxDims) w.misuse("tensor '" + name + "' has " + std::to_string(n_dims) + " dimensions");
    if (ne == nullptr) w.misuse("tensor '" + name + "' has no shape");
    if (w.tensor_names.count(name) != 0) w.misuse("duplicate tensor name '" + name + "'");

    Impl::Tensor t;
    t.info.name = name;
    t.info.type = type;
    t.info.n_dims = n_dims;
    for (int d = 0; d < n_dims; ++d) t.info.ne[d] = ne[d];
    const std::string problem =
        check_tensor_shape(static_cast<uint32_t>(type), static_cast<uint32_t>(n_dims), t.info.ne, &t.info.n_bytes);
    if (!problem.empty()) w.misuse("tensor '" + name + "': " + problem);
    // Tensors follow each other, each padded to the alignment, exactly as ggml lays them out.
    t.info.offset = w.tensors.empty() ? 0
                                      : w.tensors.back().info.offset +
                                            align_up(w.tensors.back().info.n_bytes, w.alignment);
    w.tensor_names.insert(name);
    w.tensors.push_back(std::move(t));
}

uint64_t Writer::tensor_bytes(std::string_view name) const {
    for (const Impl::Tensor& t : impl_->tensors) {
        if (t.info.name == name) return t.info.n_bytes;
    }
    impl_->misuse("no tensor named '" + std::string(name) + "' was declared");
}

void Writer::write_tensor_data(const void* data, size_t n_bytes) {
    Impl& w = *impl_;
    w.check_usable();
    if (n_bytes == 0) return;
    if (data == nullptr) w.misuse("null tensor data");
    w.ensure_header();
    if (w.current >= w.tensors.size()) w.misuse(std::to_string(n_bytes) + " bytes written after the last tensor");
    const TensorInfo& t = w.tensors[w.current].info;
    if (n_bytes > t.n_bytes - w.current_written) {
        w.misuse("tensor '" + t.name + "' takes " + std::to_string(t.n_bytes) + " bytes; " +
                 std::to_string(w.current_written + n_bytes) + " were written");
    }
    w.emit(static_cast<const uint8_t*>(data), n_bytes);
    w.current_written += n_bytes;
    w.close_tensor_if_complete();
}

void Writer::finish() {
    Impl& w = *impl_;
    w.check_usable();
    w.ensure_header();
    if (w.current < w.tensors.size()) {
        const TensorInfo& t = w.tensors[w.current].info;
        w.misuse("finish() before all tensor data was written: tensor '" + t.name + "' has " +
                 std::to_string(w.current_written) + " of " + std::to_string(t.n_bytes) + " bytes");
    }
    w.flush();
    if (::fsync(w.fd) != 0) w.io_error("fsync of '" + w.tmp_path + "' failed", errno);
    const int fd = w.fd;
    w.fd = -1;
    if (::close(fd) != 0) w.io_error("close of '" + w.tmp_path + "' failed", errno);
    if (::rename(w.tmp_path.c_str(), w.path.c_str()) != 0) {
        w.io_error("cannot rename '" + w.tmp_path + "' to the final name", errno);
    }
    w.tmp_path.clear();
    w.finished = true;
}

}  // namespace moecpu::gguf
