// Implementation of the signer's key ring (see keyring.hpp).
#include "delivery/dkim/keyring.hpp"

#include <sys/stat.h>

#include "common/log/log.hpp"

namespace delivery::dkim {

namespace log = common::log;
namespace cd = common::dkim;

void KeyRing::refresh() {
  std::string path = dir_ + "/" + cd::kKeysFile;
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (seen_ && exists && st.st_ino == ino_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
      st.st_mtim.tv_nsec == mtime_.tv_nsec)
    return;
  if (seen_ && !exists && ino_ == 0) return;
  seen_ = true;
  ino_ = exists ? st.st_ino : 0;
  mtime_ = exists ? st.st_mtim : timespec{};
  auto entries = cd::load_keys(dir_);
  if (!entries) {
    load_error_ = entries.message();
    log::error("DKIM keys: %s (keeping the %zu keys loaded before)", load_error_.c_str(), keys_.size());
    return;
  }
  load_error_.clear();
  std::map<std::string, LoadedKey, std::less<>> next;
  for (const auto& e : *entries) {
    if (e.state != cd::KeyState::kActive) continue;
    LoadedKey k;
    k.entry = e;
    auto key = cd::read_key_file(dir_, e);
    if (key) {
      k.key = std::shared_ptr<EVP_PKEY>(key->release(), EVP_PKEY_free);
      log::info("DKIM key %s for %s (%s) loaded", e.selector.c_str(), e.domain.c_str(),
                cd::algorithm_name(e.algorithm));
    } else {
      k.error = key.message();
      log::error("DKIM key %s for %s cannot be used: %s; mail that it should sign is deferred",
                 e.selector.c_str(), e.domain.c_str(), k.error.c_str());
    }
    next[e.domain] = std::move(k);
  }
  keys_ = std::move(next);
}

const LoadedKey* KeyRing::find(std::string_view domain) const {
  auto it = keys_.find(domain);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace delivery::dkim
