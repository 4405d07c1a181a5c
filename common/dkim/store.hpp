// The DKIM key store: a directory (data_directory/dkim, see common/spool/layout.hpp)
// holding one PEM private key per domain and selector, SELECTOR._domainkey.DOMAIN.key
// (mode 0600, owned by the signer's user mb-dkim), its public record to publish,
// SELECTOR._domainkey.DOMAIN.txt (0644), and the file `keys`, which says
// which selectors exist and which one signs:
//   # DOMAIN SELECTOR ALGORITHM STATE
//   example.org mb20261207 rsa active
//   example.org mb20260101 ed25519 retiring
// One line per key; per domain at most one "active" (signs) and one "retiring" (no
// longer signs, stays published in DNS until `mailctl dkim retire`, so that mail
// signed with it just before a rotation still verifies). The directory is mode 0711:
// nobody else can list it, the keys are the signer's alone, and `keys` and the records
// (0644; no secret) can be read by mailctl's DNS check. Written by mailctl only, whole and
// atomically (a temporary file renamed into place).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/dkim/keys.hpp"
#include "common/result.hpp"

namespace common::dkim {

enum class KeyState { kActive, kRetiring };

struct KeyEntry {
  std::string domain;  // lower case, A-labels
  std::string selector;
  Algorithm algorithm = Algorithm::kRsa;
  KeyState state = KeyState::kActive;
  bool operator==(const KeyEntry&) const = default;
};

inline constexpr const char* kKeysFile = "keys";
inline constexpr std::size_t kMaxKeysFile = 1 << 20;

// UNTRUSTED (a file): every line checked; comments and blank lines skipped. Refuses
// unknown words, bad selectors, duplicates and a second active or retiring key of a
// domain, naming the line.
Result<std::vector<KeyEntry>> parse_keys(std::string_view text);
std::string format_keys(const std::vector<KeyEntry>& keys);

// The file name of an entry's private key inside the store.
std::string key_file_name(const KeyEntry& e);

// The file name of an entry's public record ("v=DKIM1; k=...; p=...").
std::string record_file_name(const KeyEntry& e);

// The entry that signs for `domain` (nullptr if none).
const KeyEntry* active_key(const std::vector<KeyEntry>& keys, std::string_view domain);

// A selector for a new key made on `day` ("mb" + YYYYMMDD), with "-2", "-3", ... if the
// domain already has one of that name.
std::string new_selector(const std::vector<KeyEntry>& keys, std::string_view domain, std::int64_t now);

// I/O. The store's directory must exist (mailctl init makes it).
Result<std::vector<KeyEntry>> load_keys(const std::string& dir);
Status save_keys(const std::string& dir, const std::vector<KeyEntry>& keys);
// Writes a new private key file (0600, never over an existing file).
Status write_key_file(const std::string& dir, const KeyEntry& e, std::string_view pem);
// Writes (replacing) the entry's public record file, mode 0644.
Status write_record_file(const std::string& dir, const KeyEntry& e, std::string_view record);
Result<std::string> read_record_file(const std::string& dir, const KeyEntry& e);
// Removes the key and the record file.
Status remove_key_file(const std::string& dir, const KeyEntry& e);
// Reads and checks a private key: a missing or unreadable file, or one that is not a
// key of the entry's algorithm, is an error that says so.
Result<Pkey> read_key_file(const std::string& dir, const KeyEntry& e);

}  // namespace common::dkim
