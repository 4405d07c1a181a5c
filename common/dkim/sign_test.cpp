// Tests for DKIM signing (sign.hpp): header selection with oversigning, the bottom-up
// choice of repeated fields (RFC 6376 5.4.2), the tags of the field, a signature that
// verifies with the public key for both algorithms, and a changed body or header that
// no longer does. (The integration test checks the same against an independent
// verifier, python3-dkim.)
#include "common/dkim/sign.hpp"

#include <doctest/doctest.h>

#include <map>

#include "common/mail/base64.hpp"

using namespace common::dkim;

namespace {

const char* kMessage =
    "Received: from x by y\n"
    "From: Alice <alice@example.org>\n"
    "To: bob@far.test\n"
    "Subject: Hello\n"
    "\tfolded\n"
    "Date: Mon, 7 Dec 2026 06:00:00 +0000\n"
    "Message-ID: <1@example.org>\n"
    "\n"
    "Hi Bob.  \n"
    ".leading dot\n"
    "\n\n";

std::map<std::string, std::string> tags_of(const std::string& field) {
  std::string v = field.substr(field.find(':') + 1);
  std::string flat;
  for (char c : v)
    if (c != '\n' && c != '\r' && c != '\t' && c != ' ') flat.push_back(c);
  std::map<std::string, std::string> tags;
  std::size_t i = 0;
  while (i < flat.size()) {
    auto semi = flat.find(';', i);
    std::string t = flat.substr(i, semi == std::string::npos ? std::string::npos : semi - i);
    auto eq = t.find('=');
    if (eq != std::string::npos) tags[t.substr(0, eq)] = t.substr(eq + 1);
    if (semi == std::string::npos) break;
    i = semi + 1;
  }
  return tags;
}

std::string unbase64(const std::string& b) {
  auto d = common::mail::decode_base64(b);
  REQUIRE(d.has_value());
  return *d;
}

// Verifies `field` over `message` as a verifier would: the selected fields, then the
// signature field with b= emptied, canonicalised without its CRLF.
bool verifies(const std::string& field, const std::string& message, EVP_PKEY* key, Algorithm a) {
  MessageSigner m;
  m.feed(message);
  m.finish();
  auto tags = tags_of(field);
  std::vector<std::string> h;
  std::string hv = tags["h"];
  for (std::size_t i = 0; i <= hv.size();) {
    auto c = hv.find(':', i);
    h.push_back(hv.substr(i, c == std::string::npos ? std::string::npos : c - i));
    if (c == std::string::npos) break;
    i = c + 1;
  }
  std::string data = signed_header_data(m.headers(), h);
  std::string unsigned_field = field.substr(0, field.rfind("b=") + 2);
  std::string crlf;
  for (char c : unsigned_field) {
    if (c == '\n') crlf.push_back('\r');
    crlf.push_back(c);
  }
  std::string self = relaxed_header(crlf);
  data += self.substr(0, self.size() - 2);
  std::string sig = unbase64(tags["b"]);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok;
  if (a == Algorithm::kRsa) {
    ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  } else {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
    ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
         EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(), md, n) == 1;
  }
  EVP_MD_CTX_free(ctx);
  // The body hash as well.
  MessageSigner again;
  again.feed(message);
  again.finish();
  std::string body = message.substr(message.find("\n\n") + 2);
  unsigned char md[32];
  unsigned int n = 0;
  std::string canon = relaxed_body(body);
  EVP_Digest(canon.data(), canon.size(), md, &n, EVP_sha256(), nullptr);
  return ok && tags["bh"] == common::mail::encode_base64(std::string_view(reinterpret_cast<char*>(md), n));
}

std::string sign_with(const std::string& message, EVP_PKEY* key, Algorithm a) {
  MessageSigner m;
  for (std::size_t i = 0; i < message.size(); i += 7) m.feed(std::string_view(message).substr(i, 7));
  m.finish();
  auto f = m.sign({key, a, "example.org", "sel"}, 1796623200);
  REQUIRE(f.is_ok());
  return *f;
}

}  // namespace

TEST_CASE("header selection: every present field once more, absent ones once") {
  std::vector<HeaderField> fields = {
      {"From", "From: a@b"}, {"To", "To: c@d"}, {"to", "to: e@f"}, {"X-Other", "X-Other: 1"}};
  auto h = select_headers(fields);
  CHECK(std::count(h.begin(), h.end(), "from") == 2);
  CHECK(std::count(h.begin(), h.end(), "to") == 3);
  CHECK(std::count(h.begin(), h.end(), "subject") == 1);
  CHECK(std::count(h.begin(), h.end(), "list-unsubscribe") == 1);
  CHECK(std::count(h.begin(), h.end(), "x-other") == 0);
  CHECK(std::count(h.begin(), h.end(), "received") == 0);
  // Repeated fields are taken from the bottom up; a name left over adds nothing.
  CHECK(signed_header_data(fields, {"to", "to", "to", "from"}) == "to:e@f\r\nto:c@d\r\nfrom:a@b\r\n");
}

TEST_CASE("body hash of an empty body (RFC 6376 3.4.4: relaxed is empty)") {
  auto k = generate_key(Algorithm::kEd25519);
  REQUIRE(k.is_ok());
  auto f = sign_with("From: a@example.org\n\n", k->get(), Algorithm::kEd25519);
  CHECK(tags_of(f)["bh"] == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST_CASE("rsa-sha256 and ed25519-sha256 signatures verify; changes break them") {
  for (Algorithm a : {Algorithm::kRsa, Algorithm::kEd25519}) {
    CAPTURE(algorithm_name(a));
    auto k = generate_key(a);
    REQUIRE(k.is_ok());
    std::string f = sign_with(kMessage, k->get(), a);
    CHECK(f.starts_with("DKIM-Signature: v=1; a="));
    CHECK(f.ends_with("\n"));
    CHECK(f.find('\r') == std::string::npos);
    // No line longer than 78 bytes; continuation lines start with a tab.
    std::size_t start = 0;
    while (start < f.size()) {
      auto nl = f.find('\n', start);
      CHECK(nl - start <= 78);
      if (start > 0) CHECK(f[start] == '\t');
      start = nl + 1;
    }
    auto tags = tags_of(f);
    CHECK(tags["a"] == signature_algorithm(a));
    CHECK(tags["c"] == "relaxed/relaxed");
    CHECK(tags["d"] == "example.org");
    CHECK(tags["s"] == "sel");
    CHECK(tags["t"] == "1796623200");
    CHECK(tags["h"].starts_with("from:from:sender:reply-to:subject:subject:date:date:to:to:cc:"));
    CHECK(verifies(f, kMessage, k->get(), a));
    std::string tampered = kMessage;
    tampered.replace(tampered.find("Hi Bob"), 6, "Hi Eve");
    CHECK_FALSE(verifies(f, tampered, k->get(), a));
    std::string added = std::string("Subject: second\n") + kMessage;
    CHECK_FALSE(verifies(f, added, k->get(), a));
    // Whitespace changes that relaxed canonicalisation forgives.
    std::string respaced = kMessage;
    respaced.replace(respaced.find("To: bob"), 7, "To:   bob");
    CHECK(verifies(f, respaced, k->get(), a));
  }
}
