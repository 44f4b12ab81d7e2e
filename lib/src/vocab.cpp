#include "lib/src/vocab.h"

#include <algorithm>
#include <queue>

#include "lib/src/error.h"
#include "lib/src/utf8.h"

namespace moecpu {

Vocab::Vocab(VocabData data) : data_(std::move(data)) {
    const size_t n = data_.tokens.size();
    if (n == 0) fail(MOECPU_ERR_BAD_FORMAT, "vocabulary has no tokens");
    if (data_.types.empty()) data_.types.assign(n, TokenType::Normal);
    if (data_.types.size() != n)
        fail(MOECPU_ERR_BAD_FORMAT, "vocabulary has " + std::to_string(n) + " tokens but " +
                                        std::to_string(data_.types.size()) + " token types");
    for (int32_t id : {data_.bos, data_.eos, data_.pad})
        if (id >= int32_t(n)) fail(MOECPU_ERR_BAD_FORMAT, "special token id " + std::to_string(id) + " is outside the vocabulary");
    pre_ = PreTokenizer::for_name(data_.pre);

    token_ids_.reserve(n);
    pieces_.resize(n);
    added_by_first_byte_.resize(256);
    for (size_t i = 0; i < n; ++i) {
        const std::string& t = data_.tokens[i];
        token_ids_.emplace(t, int32_t(i));  // first occurrence wins on duplicates
        const TokenType ty = data_.types[i];
        if (ty == TokenType::Control || ty == TokenType::UserDefined) {
            pieces_[i] = t;
            if (!t.empty()) added_by_first_byte_[static_cast<unsigned char>(t[0])].push_back(int32_t(i));
        } else if (!bpe_symbols_to_bytes(t, pieces_[i])) {
            pieces_[i] = t;  // not byte-mapped (unusual vocabularies): keep the text as is
        }
    }
    for (auto& bucket : added_by_first_byte_)
        std::stable_sort(bucket.begin(), bucket.end(), [&](int32_t a, int32_t b) {
            return data_.tokens[size_t(a)].size() > data_.tokens[size_t(b)].size();
        });

    merge_ranks_.reserve(data_.merges.size());
    for (size_t r = 0; r < data_.merges.size(); ++r) {
        const std::string& m = data_.merges[r];
        if (m.find(' ') == std::string::npos)
            fail(MOECPU_ERR_BAD_FORMAT, "merge " + std::to_string(r) + " ('" + m + "') is not of the form 'left right'");
        merge_ranks_.emplace(m, int(r));
    }
}

int32_t Vocab::find_token(std::string_view text) const {
    auto it = token_ids_.find(std::string(text));
    return it == token_ids_.end() ? -1 : it->second;
}

int Vocab::merge_rank(std::string_view left, std::string_view right) const {
    std::string key;
    key.reserve(left.size() + right.size() + 1);
    key.append(left).append(1, ' ').append(right);
    auto it = merge_ranks_.find(key);
    return it == merge_ranks_.end() ? -1 : it->second;
}

// Merges the lowest-ranked adjacent pair first (leftmost on ties), as Hugging Face's BPE does;
// a heap with lazily invalidated entries keeps long pieces O(n log n).
void Vocab::bpe_piece(std::string_view piece, std::vector<int32_t>& out) const {
    const std::string word = bytes_to_bpe_symbols(piece);
    struct Sym { int prev, next; size_t start, len; };
    std::vector<Sym> syms;
    for (size_t i = 0; i < word.size();) {
        size_t len = std::max<size_t>(1, utf8_sequence_length(word, i));
        syms.push_back({int(syms.size()) - 1, int(syms.size()) + 1, i, len});
        i += len;
    }
    syms.back().next = -1;

    struct Cand { int rank, left, right; size_t size; };
    auto worse = [](const Cand& a, const Cand& b) { return a.rank != b.rank ? a.rank > b.rank : a.left > b.left; };
    std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
    auto view = [&](int i) { return std::string_view(word).substr(syms[size_t(i)].start, syms[size_t(i)].len); };
    auto push = [&](int l, int r) {
        if (l < 0 || r < 0) return;
        const int rank = merge_rank(view(l), view(r));
        if (rank >= 0) heap.push({rank, l, r, syms[size_t(l)].len + syms[size_t(r)].len});
    };
    for (int i = 0; i + 1 < int(syms.size()); ++i) push(i, i + 1);

    while (!heap.empty()) {
        const Cand c = heap.top();
        heap.pop();
        Sym& l = syms[size_t(c.left)];
        Sym& r = syms[size_t(c.right)];
        if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.size) continue;  // stale
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) syms[size_t(r.next)].prev = c.left;
        push(l.prev, c.left);
        push(c.left, l.next);
    }
    for (int i = 0; i >= 0; i = syms[size_t(i)].next) {
        const int32_t id = find_token(view(i));
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        // A symbol missing from the vocabulary: emit its bytes' single-symbol tokens where present.
        std::string bytes;
        bpe_symbols_to_bytes(view(i), bytes);
        for (char b : bytes)
            if (int32_t bid = find_token(bytes_to_bpe_symbols(std::string_view(&b, 1))); bid >= 0) out.push_back(bid);
    }
}

void Vocab::tokenize(std::string_view text, bool add_bos, bool parse_special, std::vector<int32_t>& out) const {
    if (add_bos && data_.bos >= 0) out.push_back(data_.bos);
    const std::string clean = sanitize_utf8(text);
    std::vector<std::string_view> pieces;
    auto encode_plain = [&](std::string_view segment) {
        if (segment.empty()) return;
        pieces.clear();
        pre_->split(segment, pieces);
        for (std::string_view p : pieces) bpe_piece(p, out);
    };
    const std::string_view s(clean);
    size_t plain_start = 0;
    for (size_t i = 0; i < s.size();) {
        int32_t matched = -1;
        for (int32_t id : added_by_first_byte_[static_cast<unsigned char>(s[i])]) {
            if (!parse_special && data_.types[size_t(id)] == TokenType::Control) continue;
            const std::string& t = data_.tokens[size_t(id)];
            if (s.compare(i, t.size(), t) == 0) {
                matched = id;
                break;
            }
        }
        if (matched < 0) {
            ++i;
            continue;
        }
        encode_plain(s.substr(plain_start, i - plain_start));
        out.push_back(matched);
        i += data_.tokens[size_t(matched)].size();
        plain_start = i;
    }
    encode_plain(s.substr(plain_start));
}

std::string Vocab::token_to_piece(int32_t id) const {
    if (id < 0 || id >= n_tokens()) return {};
    return pieces_[size_t(id)];
}

std::string Vocab::detokenize(const std::vector<int32_t>& ids) const {
    std::string out;
    for (int32_t id : ids) out += token_to_piece(id);
    return out;
}

}  // namespace moecpu
