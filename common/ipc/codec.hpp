// The IPC codec: each message is a plain struct whose fields(F&) lists its members once;
// the same list drives encoding and decoding, so the two cannot drift apart. Integers
// are big-endian, strings and vectors carry a u32 length. decode() must consume the
// frame exactly (OpenSMTPD's m_end); any excess, shortfall or bad tag is an error.
// UNTRUSTED: decode() reads frames from less-privileged peers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/result.hpp"

namespace common::ipc {

// Largest frame on any internal socket (header included). A SOCK_SEQPACKET datagram this
// size fits the default socket buffer; larger requests are split by the sender.
inline constexpr std::size_t kMaxFrame = 128 * 1024;
inline constexpr std::size_t kHeaderSize = 6;  // u32 length, u16 type

template <class T>
concept HasFields = requires(T& t, int& f) {
  t.fields(f);
};

class Encoder {
 public:
  std::string out;

  template <class T>
  void operator()(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      put_int<std::uint8_t>(v ? 1 : 0);
    } else if constexpr (std::is_enum_v<T>) {
      put_int(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_integral_v<T>) {
      put_int(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      put_int(static_cast<std::uint32_t>(v.size()));
      out.append(v);
    } else if constexpr (HasFields<T>) {
      const_cast<T&>(v).fields(*this);
    } else {
      put_vector(v);
    }
  }

 private:
  template <class I>
  void put_int(I v) {
    using U = std::make_unsigned_t<I>;
    U u = static_cast<U>(v);
    for (int shift = (sizeof(U) - 1) * 8; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((u >> shift) & 0xff));
  }
  template <class E>
  void put_vector(const std::vector<E>& v) {
    put_int(static_cast<std::uint32_t>(v.size()));
    for (const auto& e : v) (*this)(e);
  }
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }
  const std::string& error() const { return error_; }

  template <class T>
  void operator()(T& v) {
    if (!ok_) return;
    if constexpr (std::is_same_v<T, bool>) {
      std::uint8_t b = 0;
      get_int(b);
      if (b > 1) fail("bad bool");
      v = b == 1;
    } else if constexpr (std::is_enum_v<T>) {
      std::underlying_type_t<T> u{};
      get_int(u);
      v = static_cast<T>(u);
      // An enum with a valid_enum(T) overload (found by ADL next to the enum) is checked,
      // so a peer cannot hand us a value no switch expects.
      if constexpr (requires { valid_enum(v); }) {
        if (ok_ && !valid_enum(v)) fail("bad enum value");
      }
    } else if constexpr (std::is_integral_v<T>) {
      get_int(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      std::uint32_t n = 0;
      get_int(n);
      if (!ok_) return;
      if (n > in_.size()) return fail("string length past end of frame");
      v.assign(in_.data(), n);
      in_.remove_prefix(n);
    } else if constexpr (HasFields<T>) {
      v.fields(*this);
    } else {
      get_vector(v);
    }
  }

 private:
  void fail(const char* why) {
    if (ok_) error_ = why;
    ok_ = false;
  }
  template <class I>
  void get_int(I& v) {
    using U = std::make_unsigned_t<I>;
    if (in_.size() < sizeof(U)) return fail("integer past end of frame");
    U u = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
      u = static_cast<U>((u << 8) | static_cast<unsigned char>(in_[i]));
    in_.remove_prefix(sizeof(U));
    v = static_cast<I>(u);
  }
  template <class E>
  void get_vector(std::vector<E>& v) {
    std::uint32_t n = 0;
    get_int(n);
    if (!ok_) return;
    // Every element takes at least one byte, so a count larger than what is left is a
    // lie; refusing it keeps a hostile count from reserving gigabytes.
    if (n > in_.size()) return fail("vector count past end of frame");
    v.clear();
    // Reserve little up front: elements are far larger in memory than their one-byte
    // minimum on the wire, so a full count would let a frame ask for ~70x its size.
    v.reserve(n < 64 ? n : 64);
    for (std::uint32_t i = 0; i < n && ok_; ++i) {
      E e{};
      (*this)(e);
      v.push_back(std::move(e));
    }
  }

  std::string_view in_;
  bool ok_ = true;
  std::string error_;
};

// Frame layout: u32 total length (header included), u16 type, payload.
template <class T>
std::string encode_frame(const T& msg) {
  Encoder e;
  e.out.resize(kHeaderSize);
  e(msg);
  std::uint32_t len = static_cast<std::uint32_t>(e.out.size());
  auto type = static_cast<std::uint16_t>(T::kType);
  e.out[0] = static_cast<char>(len >> 24);
  e.out[1] = static_cast<char>(len >> 16);
  e.out[2] = static_cast<char>(len >> 8);
  e.out[3] = static_cast<char>(len);
  e.out[4] = static_cast<char>(type >> 8);
  e.out[5] = static_cast<char>(type);
  return std::move(e.out);
}

struct FrameView {
  std::uint16_t type = 0;
  std::string_view payload;
};

// Checks the header against the datagram actually received.
Result<FrameView> parse_frame(std::string_view datagram);

template <class T>
Result<T> decode(const FrameView& f) {
  if (f.type != static_cast<std::uint16_t>(T::kType)) return Status::error("unexpected message type");
  T msg{};
  Decoder d(f.payload);
  d(msg);
  if (!d.ok()) return Status::error(std::string("malformed message: ") + d.error());
  if (!d.at_end()) return Status::error("malformed message: trailing bytes");
  return msg;
}

}  // namespace common::ipc
