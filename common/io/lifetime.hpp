// One lifetime token for deferred callbacks. An object that hands `this` to a callback
// that may run later (run_soon, a timer, a DNS answer, a worker's completion) owns a
// Lifetime and gives the callback a Guard; the callback runs only while guard.alive().
// Ending the lifetime (end(), or the owner's destruction) disarms every guard at once.
// Loop-thread only: a Guard is not a lock and must not cross threads.
#pragma once

#include <memory>
#include <utility>

namespace common::io {

class Guard {
 public:
  Guard() = default;
  bool alive() const { return !token_.expired(); }
  explicit operator bool() const { return alive(); }

 private:
  friend class Lifetime;
  explicit Guard(std::weak_ptr<const char> t) : token_(std::move(t)) {}
  std::weak_ptr<const char> token_;
};

class Lifetime {
 public:
  Lifetime() = default;
  ~Lifetime() = default;
  Lifetime(const Lifetime&) = delete;
  Lifetime& operator=(const Lifetime&) = delete;

  Guard guard() const { return Guard(token_); }
  // Disarms every guard now (the owner is finished but not yet destroyed).
  void end() { token_.reset(); }
  bool ended() const { return !token_; }
  // `fn` wrapped so that it does nothing once the lifetime is over.
  template <class Fn>
  auto bind(Fn fn) const {
    return [g = guard(), fn = std::move(fn)](auto&&... args) mutable {
      if (g.alive()) fn(std::forward<decltype(args)>(args)...);
    };
  }

 private:
  std::shared_ptr<const char> token_ = std::make_shared<const char>('\0');
};

}  // namespace common::io
