// How the recipients of one message are split into Deliver requests. Local recipients go
// in arrival order, at most `limit` per request. Remote recipients are grouped by domain
// first: the remote agent makes one SMTP transaction per destination and request, so a
// message to 1,000 recipients whose list interleaves 50 domains would otherwise become
// a transaction per recipient. Whole domain groups are packed into a request while they
// fit; a group larger than `limit` is cut into requests of `limit` recipients.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace qmgr {

// `addresses[i]` is recipient `which[i]`'s address; returns the requests as lists of
// entries of `which`, each list at most `limit` long (limit >= 1), every entry once.
std::vector<std::vector<std::size_t>> local_batches(const std::vector<std::size_t>& which, std::size_t limit);
std::vector<std::vector<std::size_t>> remote_batches(const std::vector<std::string>& addresses,
                                                     const std::vector<std::size_t>& which,
                                                     std::size_t limit);

}  // namespace qmgr
