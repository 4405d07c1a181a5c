// sendmail's submission to the queue manager (see submit.hpp): the common blocking path
// of common/spool/submit.hpp, and what its answers mean as sysexits codes.
#include "mailctl/sendmail/submit.hpp"

#include <sysexits.h>

#include <cerrno>

#include "common/log/log.hpp"
#include "common/spool/submit.hpp"

namespace sendmail {
namespace {

using common::mail::Outcome;  // the queue manager's verdict

int errno_exit(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EINTR:
    case EAGAIN: return EX_TEMPFAIL;
    case EACCES:
    case EPERM: return EX_NOPERM;
    default: return EX_CANTCREAT;
  }
}

}  // namespace

Exit submit(const common::spool::Layout& layout, const common::spool::Envelope& env, std::string_view message,
            int timeout_ms) {
  common::spool::DropDir drop(common::io::UniqueFd(), layout.incoming());
  auto w = drop.create(env);
  if (!w) return {errno_exit(w.status().err()), "cannot create the queue file: " + w.message()};
  common::Status st = w->append(message);
  if (st) st = w->finish();
  if (!st) return {errno_exit(st.err()), "cannot write the queue file: " + st.message()};

  common::io::UniqueFd fd = w->release_fd();
  auto v = common::spool::submit_blocking(layout.submit_socket(), "sendmail", fd.get(), timeout_ms);
  if (!v) {
    switch (v.status().err()) {
      case ENOENT:
      case ECONNREFUSED: return {EX_TEMPFAIL, v.message() + "; message not sent"};
      case EACCES:
      case EPERM: return {EX_NOPERM, v.message() + "; message not sent"};
      case EPROTONOSUPPORT: return {EX_SOFTWARE, v.message()};
      default: return {EX_TEMPFAIL, v.message() + "; message not sent"};
    }
  }
  std::string why = common::log::printable(v->status + " " + v->text, 200);
  switch (v->outcome) {
    case Outcome::kOk: return {EX_OK, ""};
    case Outcome::kTemporary: return {EX_TEMPFAIL, "the queue manager could not take the message: " + why};
    case Outcome::kPermanent:
    default: return {EX_DATAERR, "the queue manager refused the message: " + why};
  }
}

}  // namespace sendmail
