// Implementation of `mailctl dkim` (see dkim.hpp). Every command loads the store's
// `keys` file, checks its input against it, writes a new key file first and the `keys`
// file last, so that an interrupted command leaves at worst an unused key file.
#include "mailctl/dkim.hpp"

#include <ctime>
#include <functional>

#include "common/dkim/keys.hpp"
#include "common/dkim/store.hpp"
#include "common/privsep/as_user.hpp"
#include "mailctl/args.hpp"

namespace mailctl {

namespace dkim = common::dkim;
using common::Status;

namespace {

constexpr std::string_view kKeyOwner = "mb-dkim";

// Runs `fn` as the key store's owner when root (its exit code and output carried over).
int as_key_owner(Context& ctx, const std::function<int()>& fn) {
  if (!ctx.as_root) return fn();
  int code = kExitOk;
  Status st = common::privsep::run_as({kKeyOwner, kKeyOwner}, [&] {
    int rc = fn();
    std::fflush(ctx.out);
    std::fflush(ctx.err);
    return rc == kExitOk ? Status::ok() : Status::error("", rc);
  });
  if (!st) {
    code = st.err() ? st.err() : EX_IOERR;
    if (!st.message().empty()) complain(ctx, "dkim: " + st.message());
  }
  return code;
}

bool valid_domain(const std::string& d) {
  if (d.empty() || d.size() > 253 || d.find('.') == std::string::npos || d.front() == '.' || d.back() == '.')
    return false;
  for (char c : d)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  return d.find("..") == std::string::npos;
}

// Prints the record of one key from the private key itself (so a broken key file shows
// here too), and writes it into the record file that check-dns reads.
Status print_record(Context& ctx, const std::string& dir, const dkim::KeyEntry& e) {
  auto key = dkim::read_key_file(dir, e);
  if (!key) return key.status();
  auto p = dkim::public_key_value(key->get(), e.algorithm);
  if (!p) return p.status();
  std::string record = dkim::key_record_text(e.algorithm, *p);
  std::fprintf(ctx.out, "%s\n", dkim::txt_record_line(e.domain, e.selector, record).c_str());
  auto old = dkim::read_record_file(dir, e);
  if (!old || *old != record) return dkim::write_record_file(dir, e, record);
  return Status::ok();
}

// Makes a key for `e` and writes it into the store (not yet into `keys`).
Status make_key(const std::string& dir, const dkim::KeyEntry& e) {
  auto key = dkim::generate_key(e.algorithm);
  if (!key) return key.status();
  auto pem = dkim::private_key_pem(key->get());
  if (!pem) return pem.status();
  return dkim::write_key_file(dir, e, *pem);
}

// The new entry's selector and algorithm from the options, or their defaults.
common::Result<dkim::KeyEntry> new_entry(const std::vector<dkim::KeyEntry>& keys, const std::string& domain,
                                         const DkimArgs& a, dkim::Algorithm dflt) {
  dkim::KeyEntry e;
  e.domain = domain;
  e.algorithm = dflt;
  if (a.algorithm) {
    auto alg = dkim::parse_algorithm(*a.algorithm);
    if (!alg) return alg.status();
    e.algorithm = *alg;
  }
  e.selector = a.selector ? lower(*a.selector) : dkim::new_selector(keys, domain, std::time(nullptr));
  if (!dkim::valid_selector(e.selector))
    return Status::error("bad selector '" + e.selector + "' (letters, digits, hyphens, dots)");
  for (const auto& k : keys)
    if (k.domain == domain && k.selector == e.selector)
      return Status::error(domain + " already has a key with selector " + e.selector);
  return e;
}

int fail(Context& ctx, const Status& st, int code) {
  complain(ctx, "dkim: " + st.message());
  return code;
}

}  // namespace

int cmd_dkim_generate(Context& ctx, const std::string& domain_in, const DkimArgs& a) {
  std::string domain = domain_arg(domain_in);
  if (!valid_domain(domain)) return fail(ctx, Status::error("not a domain name: " + domain_in), kExitRefused);
  return as_key_owner(ctx, [&] {
    std::string dir = ctx.layout().dkim_keys();
    auto keys = dkim::load_keys(dir);
    if (!keys) return fail(ctx, keys.status(), EX_IOERR);
    if (const auto* k = dkim::active_key(*keys, domain))
      return fail(ctx, Status::error(domain + " already has the key " + k->selector + " (use 'dkim rotate')"),
                  kExitRefused);
    auto e = new_entry(*keys, domain, a, dkim::Algorithm::kRsa);
    if (!e) return fail(ctx, e.status(), kExitRefused);
    if (auto st = make_key(dir, *e); !st) return fail(ctx, st, EX_IOERR);
    keys->push_back(*e);
    if (auto st = dkim::save_keys(dir, *keys); !st) return fail(ctx, st, EX_IOERR);
    std::fprintf(ctx.out, "created %s key %s for %s; publish this record in DNS:\n",
                 dkim::algorithm_name(e->algorithm), e->selector.c_str(), domain.c_str());
    if (auto st = print_record(ctx, dir, *e); !st) return fail(ctx, st, EX_IOERR);
    return kExitOk;
  });
}

int cmd_dkim_rotate(Context& ctx, const std::string& domain_in, const DkimArgs& a) {
  std::string domain = domain_arg(domain_in);
  return as_key_owner(ctx, [&] {
    std::string dir = ctx.layout().dkim_keys();
    auto keys = dkim::load_keys(dir);
    if (!keys) return fail(ctx, keys.status(), EX_IOERR);
    const auto* old = dkim::active_key(*keys, domain);
    if (!old) return fail(ctx, Status::error(domain + " has no key (use 'dkim generate')"), kExitRefused);
    for (const auto& k : *keys)
      if (k.domain == domain && k.state == dkim::KeyState::kRetiring)
        return fail(ctx,
                    Status::error(domain + " still has the retiring key " + k.selector +
                                  " (run 'dkim retire " + domain + " " + k.selector + "' first)"),
                    kExitRefused);
    auto e = new_entry(*keys, domain, a, old->algorithm);
    if (!e) return fail(ctx, e.status(), kExitRefused);
    if (auto st = make_key(dir, *e); !st) return fail(ctx, st, EX_IOERR);
    std::string old_selector = old->selector;
    for (auto& k : *keys)
      if (k.domain == domain && k.state == dkim::KeyState::kActive) k.state = dkim::KeyState::kRetiring;
    keys->push_back(*e);
    if (auto st = dkim::save_keys(dir, *keys); !st) return fail(ctx, st, EX_IOERR);
    std::fprintf(ctx.out, "created %s key %s for %s, which signs from now on; publish this record in DNS:\n",
                 dkim::algorithm_name(e->algorithm), e->selector.c_str(), domain.c_str());
    if (auto st = print_record(ctx, dir, *e); !st) return fail(ctx, st, EX_IOERR);
    std::fprintf(ctx.out,
                 "keep the record of %s published until mail signed with it has been read (a few days), "
                 "then run 'mailctl dkim retire %s %s'\n",
                 old_selector.c_str(), domain.c_str(), old_selector.c_str());
    return kExitOk;
  });
}

int cmd_dkim_retire(Context& ctx, const std::string& domain_in, const std::string& selector_in) {
  std::string domain = domain_arg(domain_in);
  std::string selector = lower(selector_in);
  return as_key_owner(ctx, [&] {
    std::string dir = ctx.layout().dkim_keys();
    auto keys = dkim::load_keys(dir);
    if (!keys) return fail(ctx, keys.status(), EX_IOERR);
    auto it = std::find_if(keys->begin(), keys->end(), [&](const dkim::KeyEntry& k) {
      return k.domain == domain && k.selector == selector;
    });
    if (it == keys->end()) return fail(ctx, Status::error(domain + " has no key " + selector), kExitRefused);
    if (it->state == dkim::KeyState::kActive)
      return fail(ctx, Status::error(selector + " is the key that signs for " + domain + " (rotate first)"),
                  kExitRefused);
    dkim::KeyEntry gone = *it;
    keys->erase(it);
    if (auto st = dkim::save_keys(dir, *keys); !st) return fail(ctx, st, EX_IOERR);
    if (auto st = dkim::remove_key_file(dir, gone); !st) return fail(ctx, st, EX_IOERR);
    std::fprintf(ctx.out, "removed key %s of %s; delete its record from DNS:\n%s._domainkey.%s. IN TXT\n",
                 selector.c_str(), domain.c_str(), selector.c_str(), domain.c_str());
    return kExitOk;
  });
}

int cmd_dkim_list(Context& ctx) {
  return as_key_owner(ctx, [&] {
    std::string dir = ctx.layout().dkim_keys();
    auto keys = dkim::load_keys(dir);
    if (!keys) return fail(ctx, keys.status(), EX_IOERR);
    int rc = kExitOk;
    for (const auto& k : *keys) {
      std::fprintf(
          ctx.out, "%s %s %s %s\n", k.domain.c_str(), k.selector.c_str(), dkim::algorithm_name(k.algorithm),
          k.state == dkim::KeyState::kActive ? "active" : "retiring (no longer signs; still published)");
      if (auto st = print_record(ctx, dir, k); !st) {
        complain(ctx, "dkim: " + st.message());
        rc = kExitProblems;
      }
    }
    return rc;
  });
}

}  // namespace mailctl
