#include "lib/src/utf8.h"

#include <array>

namespace moecpu {

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

size_t utf8_sequence_length(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t len;
    uint32_t min_cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { len = 2; min_cp = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; min_cp = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; min_cp = 0x10000; }
    else return 0;
    if (i + len > s.size()) return 0;
    uint32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid.
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const size_t len = utf8_sequence_length(s, i);
        if (len == 0) {
            append_utf8(out, 0xFFFD);
            ++i;
        } else {
            out.append(s.substr(i, len));
            i += len;
        }
    }
    return out;
}

namespace {

struct ByteMap {
    std::array<uint32_t, 256> byte_to_cp{};
    std::array<int16_t, 512> cp_to_byte{};  // every mapped code point is below U+0144
};

ByteMap build_byte_map() {
    ByteMap m;
    m.cp_to_byte.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        m.byte_to_cp[b] = printable ? b : next++;
        m.cp_to_byte[m.byte_to_cp[b]] = int16_t(b);
    }
    return m;
}

const ByteMap& byte_map() {
    static const ByteMap m = build_byte_map();
    return m;
}

}  // namespace

std::string bytes_to_bpe_symbols(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) append_utf8(out, byte_map().byte_to_cp[c]);
    return out;
}

bool bpe_symbols_to_bytes(std::string_view text, std::string& out) {
    for (size_t i = 0; i < text.size();) {
        const size_t len = utf8_sequence_length(text, i);
        if (len == 0) return false;
        uint32_t cp = static_cast<unsigned char>(text[i]) & (len == 1 ? 0x7F : (0x7F >> len));
        for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        if (cp >= byte_map().cp_to_byte.size() || byte_map().cp_to_byte[cp] < 0) return false;
        out += char(byte_map().cp_to_byte[cp]);
        i += len;
    }
    return true;
}

}  // namespace moecpu
