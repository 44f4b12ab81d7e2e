// UTF-8 helpers and GPT-2's byte-to-unicode map used by byte-level BPE vocabularies.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace moecpu {

// Appends the UTF-8 encoding of code point cp.
void append_utf8(std::string& out, uint32_t cp);

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is invalid or truncated.
size_t utf8_sequence_length(std::string_view s, size_t i);

// Copy of s where every invalid byte sequence is replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);

// GPT-2 byte-level BPE spells each byte as one printable code point (bytes that are printable
// Latin-1 map to themselves, the rest to U+0100 upwards), so vocabularies hold no raw bytes.
std::string bytes_to_bpe_symbols(std::string_view bytes);
// Inverse of bytes_to_bpe_symbols; false if text holds a code point outside the map.
bool bpe_symbols_to_bytes(std::string_view text, std::string& out);

}  // namespace moecpu
