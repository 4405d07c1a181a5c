// The signer's keys: the key store's `keys` file and the private keys of the active
// selectors (common/dkim/store.hpp), loaded at start and again whenever `keys` changes
// (mailctl replaces it by rename: a new inode), so that generate, rotate and retire
// take effect without a restart. A key that cannot be loaded (unreadable, not PEM, not
// of its algorithm) is kept as its error: mail for that domain is then deferred with
// that reason, never signed with something else and never sent unsigned.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/dkim/keys.hpp"
#include "common/dkim/store.hpp"
#include "common/result.hpp"

namespace delivery::dkim {

struct LoadedKey {
  common::dkim::KeyEntry entry;
  std::shared_ptr<EVP_PKEY> key;  // null when `error` is set
  std::string error;
};

class KeyRing {
 public:
  explicit KeyRing(std::string dir) : dir_(std::move(dir)) {}

  // Reloads if `keys` changed since the last look (one stat). A `keys` file that does
  // not parse keeps the keys loaded before and is reported once per change.
  void refresh();
  // The active key of `domain`, or nullptr.
  const LoadedKey* find(std::string_view domain) const;
  bool any() const { return !keys_.empty(); }
  std::size_t size() const { return keys_.size(); }
  const std::string& load_error() const { return load_error_; }

 private:
  std::string dir_;
  std::map<std::string, LoadedKey, std::less<>> keys_;  // by domain
  bool seen_ = false;
  ino_t ino_ = 0;
  struct timespec mtime_ {};
  std::string load_error_;
};

}  // namespace delivery::dkim
