// Milter packet encoding and decoding (see codec.hpp). UNTRUSTED: every decode_* reads a
// filter's bytes; a string must end in exactly the NUL the protocol puts after it and
// nothing may follow the last one.
#include "common/milter/codec.hpp"

namespace common::milter {

namespace {

void put32(std::string* out, std::uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

std::uint32_t get32(std::string_view s, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// Appends `s` up to its first NUL, then the terminating NUL.
void put_str(std::string* out, std::string_view s) {
  out->append(s.substr(0, s.find('\0')));
  out->push_back('\0');
}

// Splits `data` into exactly `n` NUL-terminated strings.
bool split_strings(std::string_view data, std::size_t n, std::vector<std::string_view>* out) {
  out->clear();
  while (!data.empty()) {
    std::size_t z = data.find('\0');
    if (z == std::string_view::npos) return false;  // unterminated
    out->push_back(data.substr(0, z));
    data.remove_prefix(z + 1);
  }
  return out->size() == n;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "x.y.z" with x the class digit (RFC 3463 2).
bool enhanced_status(std::string_view s, char cls) {
  if (s.size() < 5 || s.size() > 11 || s[0] != cls || s[1] != '.') return false;
  int dots = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i - 1] == '.' || ++dots > 1) return false;
    } else if (!is_digit(s[i])) {
      return false;
    }
  }
  return dots == 1 && s.back() != '.';
}

}  // namespace

std::string encode_packet(char code, std::string_view payload) {
  std::string out;
  out.reserve(5 + payload.size());
  put32(&out, static_cast<std::uint32_t>(payload.size() + 1));
  out.push_back(code);
  out.append(payload);
  return out;
}

std::string encode_optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t steps) {
  std::string p;
  put32(&p, version);
  put32(&p, actions);
  put32(&p, steps);
  return encode_packet(cmd::kOptneg, p);
}

std::string encode_macros(char stage, const Macros& macros) {
  if (macros.empty()) return "";
  std::string p(1, stage);
  for (const auto& [name, value] : macros) {
    put_str(&p, name);
    put_str(&p, value);
  }
  return encode_packet(cmd::kMacro, p);
}

std::string encode_connect(std::string_view host, char family, std::uint16_t port, std::string_view addr) {
  std::string p;
  put_str(&p, host);
  p.push_back(family);
  if (family != 'L') {
    p.push_back(static_cast<char>(port >> 8));
    p.push_back(static_cast<char>(port));
    put_str(&p, addr);
  }
  return encode_packet(cmd::kConnect, p);
}

std::string encode_helo(std::string_view helo) {
  std::string p;
  put_str(&p, helo);
  return encode_packet(cmd::kHelo, p);
}

std::string encode_args(char code, const std::vector<std::string>& args) {
  std::string p;
  for (const auto& a : args) put_str(&p, a);
  return encode_packet(code, p);
}

std::string encode_header(std::string_view name, std::string_view value) {
  std::string p;
  put_str(&p, name);
  put_str(&p, value);
  return encode_packet(cmd::kHeader, p);
}

Result<std::optional<Packet>> FrameReader::next() {
  std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
  if (rest.size() < 4) return std::optional<Packet>();
  std::uint32_t len = get32(rest, 0);
  if (len == 0) return Status::error("milter packet of length 0");
  if (len > kMaxPacket)
    return Status::error("milter packet of " + std::to_string(len) + " bytes is too long");
  if (rest.size() < 4 + std::size_t{len}) return std::optional<Packet>();
  Packet p;
  p.code = rest[4];
  p.data.assign(rest.substr(5, len - 1));
  pos_ += 4 + std::size_t{len};
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 64 * 1024) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return std::optional<Packet>(std::move(p));
}

Result<Negotiated> decode_optneg(std::string_view data) {
  if (data.size() < 12) return Status::error("milter OPTNEG reply too short");
  Negotiated n;
  n.version = get32(data, 0);
  n.actions = get32(data, 4);
  n.steps = get32(data, 8);
  data.remove_prefix(12);
  // SETSYMLIST entries: stage(4) then a NUL-terminated list of macro names separated by
  // spaces, e.g. "{auth_authen} {client_addr}".
  while (!data.empty()) {
    if (data.size() < 5) return Status::error("milter OPTNEG macro list truncated");
    SymList s;
    s.stage = get32(data, 0);
    if (s.stage >= kMacroStages) return Status::error("milter OPTNEG macro list for an unknown stage");
    data.remove_prefix(4);
    std::size_t z = data.find('\0');
    if (z == std::string_view::npos) return Status::error("milter OPTNEG macro list unterminated");
    std::string_view list = data.substr(0, z);
    data.remove_prefix(z + 1);
    std::string cur;
    for (char c : list) {
      if (c == ' ' || c == ',') {
        if (!cur.empty()) s.names.push_back(std::move(cur));
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    if (!cur.empty()) s.names.push_back(std::move(cur));
    n.symlists.push_back(std::move(s));
  }
  return n;
}

Result<ReplyCode> decode_replycode(std::string_view data) {
  std::vector<std::string_view> parts;
  if (!split_strings(data, 1, &parts)) return Status::error("milter reply code not one string");
  std::string_view all = parts[0];
  ReplyCode rc;
  // Lines of a multi-line reply (smfi_setmlreply) are separated by CRLF; each starts
  // with the same code, '-' on all but the last.
  std::size_t lines = 0;
  while (!all.empty() || lines == 0) {
    std::size_t eol = all.find("\r\n");
    std::string_view line = all.substr(0, eol);
    all = eol == std::string_view::npos ? std::string_view() : all.substr(eol + 2);
    bool last = all.empty();
    if (line.size() < 4 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
      return Status::error("milter reply code malformed");
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code < 400 || code > 599) return Status::error("milter reply code not 4xx or 5xx");
    if (lines > 0 && code != rc.code) return Status::error("milter multi-line reply with different codes");
    if (line[3] != (last ? ' ' : '-')) return Status::error("milter reply code malformed");
    rc.code = code;
    std::string_view text = line.substr(4);
    std::size_t sp = text.find(' ');
    std::string_view first = text.substr(0, sp);
    if (enhanced_status(first, line[0])) {
      if (lines == 0) rc.status.assign(first);
      text = sp == std::string_view::npos ? std::string_view() : text.substr(sp + 1);
    }
    for (char c : text)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return Status::error("milter reply text with control characters");
    if (!text.empty()) {
      if (!rc.text.empty()) rc.text.push_back(' ');
      rc.text.append(text);
    }
    if (++lines > 32) return Status::error("milter reply with too many lines");
    if (last) break;
  }
  if (rc.text.size() > 1000) rc.text.resize(1000);
  return rc;
}

Result<Reply> decode_reply(const Packet& p) {
  using K = Reply::Kind;
  Reply r;
  std::vector<std::string_view> s;
  auto empty = [&](K k) -> Result<Reply> {
    if (!p.data.empty()) return Status::error(std::string("milter reply '") + p.code + "' with a payload");
    r.kind = k;
    return r;
  };
  auto strings = [&](K k, std::size_t n, std::size_t skip) -> Result<Reply> {
    if (!split_strings(std::string_view(p.data).substr(skip), n, &s))
      return Status::error(std::string("milter reply '") + p.code + "' malformed");
    r.kind = k;
    r.name.assign(s[0]);
    if (n > 1) r.value.assign(s[1]);
    return r;
  };
  switch (p.code) {
    case rep::kContinue: return empty(K::kContinue);
    case rep::kAccept: return empty(K::kAccept);
    case rep::kReject: return empty(K::kReject);
    case rep::kTempfail: return empty(K::kTempfail);
    case rep::kDiscard: return empty(K::kDiscard);
    case rep::kSkip: return empty(K::kSkip);
    case rep::kProgress: return empty(K::kProgress);
    case rep::kShutdown:
    case rep::kConnFail: return empty(K::kShutdown);
    case rep::kReplyCode: {
      auto rc = decode_replycode(p.data);
      if (!rc) return rc.status();
      r.kind = K::kReplyCode;
      r.reply = std::move(*rc);
      return r;
    }
    case rep::kAddHeader: return strings(K::kAddHeader, 2, 0);
    case rep::kInsHeader:
    case rep::kChgHeader:
      if (p.data.size() < 4) return Status::error("milter header change too short");
      r.index = get32(p.data, 0);
      return strings(p.code == rep::kInsHeader ? K::kInsHeader : K::kChgHeader, 2, 4);
    case rep::kDelRcpt: return strings(K::kDelRcpt, 1, 0);
    case rep::kAddRcpt: return strings(K::kAddRcpt, 1, 0);
    case rep::kAddRcptPar: return strings(K::kAddRcptPar, 2, 0);
    case rep::kChgFrom:
      // The parameters are optional (smfi_chgfrom with NULL args).
      if (split_strings(p.data, 1, &s)) return strings(K::kChgFrom, 1, 0);
      return strings(K::kChgFrom, 2, 0);
    case rep::kQuarantine: return strings(K::kQuarantine, 1, 0);
    case rep::kReplBody:
      r.kind = K::kReplBody;
      r.value = p.data;
      return r;
    default: break;
  }
  return Status::error("milter reply with unknown code " +
                       std::to_string(static_cast<unsigned char>(p.code)));
}

}  // namespace common::milter
