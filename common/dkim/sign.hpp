// DKIM signing of one message (RFC 6376 5, relaxed/relaxed; rsa-sha256, and
// ed25519-sha256 of RFC 8463). The message is streamed through once: the header fields
// are kept, the body is canonicalised and hashed on the fly, so a large message costs
// no memory. Then sign() makes the DKIM-Signature field for a domain's key. Hashing and
// signing are OpenSSL's EVP; canonicalisation is canon.hpp.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dkim/canon.hpp"
#include "common/dkim/keys.hpp"
#include "common/result.hpp"

namespace common::dkim {

// The header fields that matter to a reader, signed once more than they occur
// ("oversigned", RFC 6376 8.15): an absent one is signed as absent, so that nobody can
// add a second From:, Subject: or List-Unsubscribe: without breaking the signature.
const std::vector<std::string_view>& signed_header_names();

// h= for `fields`: each name of signed_header_names() as many times as it occurs, plus
// once (lower case, in the order of the list).
std::vector<std::string> select_headers(const std::vector<HeaderField>& fields);

// RFC 6376 5.4.2: for each name in `h`, the next instance of that field counting from
// the bottom of the header, canonicalised; a name with no instance left adds nothing.
std::string signed_header_data(const std::vector<HeaderField>& fields, const std::vector<std::string>& h);

class MessageSigner {
 public:
  MessageSigner();
  ~MessageSigner();
  MessageSigner(const MessageSigner&) = delete;
  MessageSigner& operator=(const MessageSigner&) = delete;

  void feed(std::string_view chunk);
  void finish();
  // The header fields, once the header has ended or the message was finished.
  const std::vector<HeaderField>& headers() { return header_.fields(); }

  struct Key {
    EVP_PKEY* key = nullptr;
    Algorithm algorithm = Algorithm::kRsa;
    std::string domain;
    std::string selector;
  };
  // After finish(): the whole "DKIM-Signature: ..." field, folded, lines ended by LF,
  // with a final LF, ready to go on top of the message. `now` is the t= tag.
  Result<std::string> sign(const Key& k, std::int64_t now);

 private:
  void line(std::string_view l);
  HeaderCollector header_;
  RelaxedBody body_;
  LineSplitter split_;
  EVP_MD_CTX* body_hash_ = nullptr;
  std::string body_hash_b64_;
};

}  // namespace common::dkim
