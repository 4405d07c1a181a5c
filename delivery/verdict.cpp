// Implementation of the shared verdict helpers (see verdict.hpp).
#include "delivery/verdict.hpp"

#include <cerrno>

namespace delivery {

Verdict io_failure(int err, std::string_view what) {
  const char* status = "4.3.0";
  if (err == EDQUOT) status = "4.2.2";
  if (err == ENOSPC) status = "4.3.1";
  return temporary(status, std::string(what));
}

}  // namespace delivery
