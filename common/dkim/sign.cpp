// Implementation of DKIM signing (see sign.hpp).
#include "common/dkim/sign.hpp"

#include "common/mail/ascii.hpp"
#include "common/mail/base64.hpp"
#include "common/tls/tls.hpp"

namespace common::dkim {

namespace {

Status ssl_error(const std::string& what) { return Status::error(what + ": " + common::tls::last_error()); }

struct MdFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

Result<std::string> sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) return ssl_error("sha256");
  return std::string(reinterpret_cast<char*>(md), n);
}

// Folds a tag list at "; " and long values, so no line of the field passes 78 bytes
// (RFC 5322 2.1.1); relaxed canonicalisation undoes the folding, and FWS inside h=, bh=
// and b= is allowed (RFC 6376 3.5).
void append_folded(std::string* out, std::size_t* col, std::string_view piece, bool breakable) {
  constexpr std::size_t kWidth = 76;
  while (!piece.empty()) {
    if (*col + piece.size() <= kWidth) {
      out->append(piece);
      *col += piece.size();
      return;
    }
    if (!breakable || *col + 8 >= kWidth) {
      if (*col > 1) {
        out->append("\r\n\t");
        *col = 1;
      }
      if (!breakable || piece.size() + *col <= kWidth) {
        out->append(piece);
        *col += piece.size();
        return;
      }
    }
    std::size_t take = kWidth - *col;
    out->append(piece.substr(0, take));
    piece.remove_prefix(take);
    out->append("\r\n\t");
    *col = 1;
  }
}

}  // namespace

const std::vector<std::string_view>& signed_header_names() {
  static const std::vector<std::string_view> names = {
      "from",
      "sender",
      "reply-to",
      "subject",
      "date",
      "to",
      "cc",
      "message-id",
      "in-reply-to",
      "references",
      "mime-version",
      "content-type",
      "content-transfer-encoding",
      "list-id",
      "list-help",
      "list-unsubscribe",
      "list-unsubscribe-post",
      "list-subscribe",
      "list-post",
      "list-owner",
      "list-archive",
  };
  return names;
}

std::vector<std::string> select_headers(const std::vector<HeaderField>& fields) {
  std::vector<std::string> h;
  for (auto name : signed_header_names()) {
    std::size_t n = 0;
    for (const auto& f : fields)
      if (common::mail::lower(f.name) == name) ++n;
    for (std::size_t i = 0; i <= n; ++i) h.emplace_back(name);
  }
  return h;
}

std::string signed_header_data(const std::vector<HeaderField>& fields, const std::vector<std::string>& h) {
  std::string out;
  std::vector<bool> used(fields.size(), false);
  for (const auto& name : h) {
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (used[i] || common::mail::lower(fields[i].name) != common::mail::lower(name)) continue;
      used[i] = true;
      out += relaxed_header(fields[i].raw);
      break;
    }
  }
  return out;
}

MessageSigner::MessageSigner()
    : body_([this](std::string_view b) { EVP_DigestUpdate(body_hash_, b.data(), b.size()); }),
      split_([this](std::string_view l) { line(l); }),
      body_hash_(EVP_MD_CTX_new()) {
  MB_CHECK(body_hash_ && EVP_DigestInit_ex(body_hash_, EVP_sha256(), nullptr) == 1, "sha256 init");
}

MessageSigner::~MessageSigner() { EVP_MD_CTX_free(body_hash_); }

void MessageSigner::line(std::string_view l) {
  if (!header_.done()) {
    header_.add_line(l);
    return;
  }
  body_.line(l);
}

void MessageSigner::feed(std::string_view chunk) { split_.feed(chunk); }

void MessageSigner::finish() {
  split_.finish();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  MB_CHECK(EVP_DigestFinal_ex(body_hash_, md, &n) == 1, "sha256 final");
  body_hash_b64_ = common::mail::encode_base64(std::string_view(reinterpret_cast<char*>(md), n));
}

Result<std::string> MessageSigner::sign(const Key& k, std::int64_t now) {
  MB_CHECK(!body_hash_b64_.empty(), "sign() before finish()");
  auto h = select_headers(header_.fields());
  std::string field = "DKIM-Signature: ";
  std::size_t col = field.size();
  auto tag = [&](const std::string& t, bool breakable) { append_folded(&field, &col, t, breakable); };
  tag("v=1; ", false);
  tag(std::string("a=") + signature_algorithm(k.algorithm) + "; ", false);
  tag("c=relaxed/relaxed; ", false);
  tag("d=" + k.domain + "; ", false);
  tag("s=" + k.selector + "; ", false);
  tag("t=" + std::to_string(now) + "; ", false);
  tag("h=", false);
  for (std::size_t i = 0; i < h.size(); ++i) tag(h[i] + (i + 1 < h.size() ? ":" : "; "), false);
  tag("bh=", false);
  tag(body_hash_b64_ + "; ", true);
  tag("b=", false);

  // RFC 6376 3.7: the selected fields, then this field with an empty b= and no CRLF.
  std::string data = signed_header_data(header_.fields(), h);
  std::string self = relaxed_header(field);
  self.resize(self.size() - 2);
  data += self;

  std::unique_ptr<EVP_MD_CTX, MdFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return ssl_error("signing");
  std::string sig;
  std::size_t len = 0;
  if (k.algorithm == Algorithm::kRsa) {
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, k.key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1)
      return ssl_error("signing");
    sig.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
      return ssl_error("signing");
  } else {
    // RFC 8463 3: PureEdDSA over the SHA-256 hash of the same data.
    auto digest = sha256(data);
    if (!digest) return digest.status();
    if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k.key) != 1) return ssl_error("signing");
    len = 64;
    sig.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(digest->data()), digest->size()) != 1)
      return ssl_error("signing");
  }
  sig.resize(len);
  tag(common::mail::encode_base64(sig), true);

  // Queue convention: LF line ends (the remote agent sends CRLF).
  std::string out;
  out.reserve(field.size() + 1);
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\r' && i + 1 < field.size() && field[i + 1] == '\n') continue;
    out.push_back(field[i]);
  }
  out.push_back('\n');
  return out;
}

}  // namespace common::dkim
