// The DATA stream parser (see data_reader.hpp for the rules and their RFC sections).
// UNTRUSTED: network bytes; a byte-at-a-time state machine with a fast path that finds
// runs of ordinary bytes 16 (SSE2) or 8 (any 64-bit word) at a time and copies them
// whole, so every split of the input gives the same result.
#include "smtpd/data_reader.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace smtpd {
namespace {

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighs = 0x8080808080808080ull;

// High bit of each zero byte of w (and possibly of bytes above one): Mycroft's test.
constexpr std::uint64_t has_zero_byte(std::uint64_t w) { return (w - kOnes) & ~w & kHighs; }

// The bytes of w that need a decision in a text line (NUL, CR, LF) have their high bit
// set in the result; others may too, but only above (more significant than) a true one,
// so the lowest set bit is exact and the result is 0 exactly when there is none.
constexpr std::uint64_t special_bytes(std::uint64_t w) {
  return has_zero_byte(w) | has_zero_byte(w ^ (kOnes * '\r')) | has_zero_byte(w ^ (kOnes * '\n'));
}

}  // namespace

void DataReader::add_content(std::size_t n) {
  size_ += n;
  line_len_ += n;
  // RFC 5321 4.5.3.1.6: 1000 octets including CRLF leave 998 for the text.
  if (line_len_ > kMaxTextLine - 2) long_line_ = true;
}

// One byte inside a line (state kText, or a byte that turned the state into kText).
void DataReader::text_byte(unsigned char c, std::string* out) {
  state_ = State::kText;
  if (c == '\r') {
    state_ = State::kCr;
    return;
  }
  if (c == '\n') {
    // RFC 5321 2.3.8: a bare LF is not a line end, so what follows it is not at the
    // start of a line and "\n.\r\n" cannot end the data.
    bare_lf_ = true;
    out->push_back('\n');
    size_ += 1;
    line_len_ = 0;
    return;
  }
  if (c == 0) nul_ = true;
  if (c & 0x80) eight_bit_ = true;
  out->push_back(static_cast<char>(c));
  add_content(1);
}

// The end of the run of ordinary bytes that starts at in[i]: the index of the first NUL,
// CR or LF, or in.size(). Sets eight_bit_ if the run has a byte >= 0x80.
std::size_t DataReader::text_run(std::string_view in, std::size_t i) {
  const std::size_t n = in.size();
  const char* p = in.data();
  std::size_t j = i;
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
  __m128i seen = zero;
  while (n - j >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j));
    __m128i sp =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)), _mm_cmpeq_epi8(v, zero));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(sp));
    if (m == 0) {
      seen = _mm_or_si128(seen, v);
      j += 16;
      continue;
    }
    int k = __builtin_ctz(m);  // the first special byte
    if (static_cast<unsigned>(_mm_movemask_epi8(v)) & ((1u << k) - 1)) eight_bit_ = true;
    if (_mm_movemask_epi8(seen)) eight_bit_ = true;
    return j + static_cast<std::size_t>(k);
  }
  if (_mm_movemask_epi8(seen)) eight_bit_ = true;
#endif
  std::uint64_t any = 0;
  while (j < n) {
    if (n - j < 8 || std::endian::native != std::endian::little) {
      unsigned char d = static_cast<unsigned char>(p[j]);
      if (d == '\r' || d == '\n' || d == 0) break;
      any |= d;
      ++j;
      continue;
    }
    std::uint64_t w;
    std::memcpy(&w, p + j, 8);
    std::uint64_t m = special_bytes(w);
    if (m == 0) {
      any |= w;
      j += 8;
      continue;
    }
    // The lowest marked byte is the first special one (little-endian: byte k is bits
    // 8k..8k+7); only the bytes before it count.
    int k = __builtin_ctzll(m) / 8;
    if (k > 0) any |= w & ((std::uint64_t{1} << (8 * k)) - 1);
    j += static_cast<std::size_t>(k);
    break;
  }
  if (any & kHighs) eight_bit_ = true;
  return j;
}

std::size_t DataReader::feed(std::string_view in, std::string* out) {
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n && state_ != State::kDone) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    switch (state_) {
      case State::kLineStart:
        if (c == '.' && !chunked_) {
          ++i;
          state_ = State::kDot;
        } else if (c != '\r' && c != '\n' && c != 0) {
          state_ = State::kText;  // an ordinary first byte: the text fast path takes it
        } else {
          ++i;
          text_byte(c, out);
        }
        break;
      case State::kDot:
        ++i;
        if (c == '\r') {
          state_ = State::kDotCr;
        } else {
          // RFC 5321 4.5.2: the leading "." of a line with more characters is deleted.
          text_byte(c, out);
        }
        break;
      case State::kDotCr:
        ++i;
        if (c == '\n') {
          state_ = State::kDone;  // CRLF "." CRLF
        } else {
          // "." CR and not LF: the CR is bare; the dot was stuffing, so it is gone.
          bare_cr_ = true;
          out->push_back('\r');
          add_content(1);
          text_byte(c, out);
        }
        break;
      case State::kCr:
        ++i;
        if (c == '\n') {
          out->push_back('\n');
          size_ += 2;
          line_len_ = 0;
          state_ = State::kLineStart;
        } else {
          bare_cr_ = true;
          out->push_back('\r');
          add_content(1);
          text_byte(c, out);
        }
        break;
      case State::kText: {
        // Fast path: copy a run of bytes that need no decision (anything but NUL, CR and
        // LF; an 8-bit byte only sets eight_bit_), found 16 or 8 bytes at a time.
        std::size_t j = text_run(in, i);
        if (j > i) {
          out->append(in.data() + i, j - i);
          add_content(j - i);
          i = j;
        }
        if (i == n) break;
        // in[i] is NUL, CR or LF.
        if (in[i] == '\r' && n - i >= 2 && in[i + 1] == '\n') {
          // The usual end of a line, taken here rather than through kCr.
          out->push_back('\n');
          size_ += 2;
          line_len_ = 0;
          state_ = State::kLineStart;
          i += 2;
        } else {
          text_byte(static_cast<unsigned char>(in[i]), out);
          ++i;
        }
        break;
      }
      case State::kDone: break;
    }
  }
  return i;
}

void DataReader::end_chunks(std::string* out) {
  if (state_ == State::kDone) return;
  if (state_ == State::kCr) {
    bare_cr_ = true;
    out->push_back('\r');
    add_content(1);
    state_ = State::kText;
  }
  if (state_ == State::kText) {
    out->push_back('\n');
    size_ += 2;
    line_len_ = 0;
  }
  state_ = State::kDone;
}

}  // namespace smtpd
