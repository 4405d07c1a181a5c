// Implementation of one signing request (see request.hpp).
#include "delivery/dkim/request.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/dkim/policy.hpp"
#include "common/dkim/sign.hpp"
#include "common/io/fdio.hpp"
#include "common/log/log.hpp"
#include "common/mail/ascii.hpp"
#include "common/spool/queue_file.hpp"

namespace delivery::dkim {

namespace log = common::log;
namespace cd = common::dkim;
using common::ipc::SignDone;
using common::ipc::SignResult;

namespace {

constexpr std::size_t kChunk = 256 * 1024;

SignDone answer(SignResult r, std::string text) {
  SignDone d;
  d.result = r;
  d.text = std::move(text);
  return d;
}

common::Status check_fd(int fd, const Policy& p) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return common::Status::sys("fstat");
  if (!S_ISREG(st.st_mode)) return common::Status::error("not a regular file");
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY) return common::Status::error("not opened read-only");
  if (!p.queue_gids.empty() &&
      std::find(p.queue_gids.begin(), p.queue_gids.end(), st.st_gid) == p.queue_gids.end())
    return common::Status::error("not a queue file (group " + std::to_string(st.st_gid) + ")");
  return common::Status::ok();
}

}  // namespace

SignDone handle_sign(const common::ipc::Sign& req, int fd, const KeyRing& keys, const Policy& p,
                     std::int64_t now) {
  std::string qid = log::printable(req.queue_id, 40);
  SignDone done;
  if (fd < 0) {
    done = answer(SignResult::kTempFail, "no queue file passed");
  } else if (auto st = check_fd(fd, p); !st) {
    done = answer(SignResult::kTempFail, "refused descriptor: " + st.message());
  } else if (auto env = common::spool::read_envelope(fd); !env) {
    done = answer(SignResult::kTempFail, "bad queue file: " + env.message());
  } else if (env->env.queue_id != req.queue_id) {
    done = answer(SignResult::kTempFail, "queue id mismatch: the file is " + env->env.queue_id);
  } else {
    // One pass over the message: header fields kept, body hashed.
    cd::MessageSigner m;
    std::string buf;
    std::uint64_t off = env->data_offset, left = env->env.data_size;
    common::Status rd = common::Status::ok();
    while (left > 0) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, kChunk));
      buf.clear();
      rd = common::io::pread_upto(fd, &buf, want, static_cast<off_t>(off));
      if (!rd) break;
      if (buf.empty()) {
        rd = common::Status::error("queue file shorter than its envelope says");
        break;
      }
      m.feed(buf);
      off += buf.size();
      left -= buf.size();
    }
    if (!rd) {
      done = answer(SignResult::kTempFail, "reading the message: " + rd.message());
    } else {
      m.finish();
      cd::SignFacts f;
      f.origin = common::spool::claimed_origin(env->env.protocol, env->env.client);
      f.protocol = env->env.protocol;
      f.client = env->env.client;
      f.auth_user = env->env.auth_user;
      f.sender = env->env.sender;
      int froms = 0;
      for (const auto& h : m.headers()) {
        if (common::mail::lower(h.name) != "from") continue;
        ++froms;
        f.from_domain = cd::from_header_domain(std::string_view(h.raw).substr(h.raw.find(':') + 1));
      }
      if (froms != 1) f.from_domain.clear();  // RFC 5322 3.6: exactly one From:
      auto d =
          cd::decide(f, p.relay_networks, [&](std::string_view dom) { return keys.find(dom) != nullptr; });
      if (!d.sign) {
        done = answer(SignResult::kUnsigned, d.why);
      } else {
        const LoadedKey* k = keys.find(d.domain);
        if (!k->key) {
          done = answer(SignResult::kTempFail,
                        "DKIM key " + k->entry.selector + " of " + d.domain + " cannot be used: " + k->error);
        } else {
          auto field = m.sign({k->key.get(), k->entry.algorithm, d.domain, k->entry.selector}, now);
          if (!field) {
            done = answer(SignResult::kTempFail, "signing failed: " + field.message());
          } else {
            done = answer(SignResult::kSigned, d.why);
            done.header = std::move(*field);
            log::info("%s: signed d=%s s=%s %s (%s)", qid.c_str(), d.domain.c_str(),
                      k->entry.selector.c_str(), cd::signature_algorithm(k->entry.algorithm), d.why.c_str());
          }
        }
      }
    }
  }
  if (done.result == SignResult::kUnsigned)
    log::info("%s: not signed: %s", qid.c_str(), done.text.c_str());
  else if (done.result == SignResult::kTempFail)
    log::error("%s: cannot sign, the message waits: %s", qid.c_str(), done.text.c_str());
  done.request_id = req.request_id;
  return done;
}

}  // namespace delivery::dkim
