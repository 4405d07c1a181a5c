// Which messages the DKIM signer signs, and for which domain: a pure decision over the
// facts the queue manager and the queue file give (no I/O; policy_test.cpp).
// A message is signed when it leaves for another domain (only the remote agent asks)
// and was written by someone entitled to speak for a local domain:
//   - an authenticated user (the envelope's A record), a client in relay_networks, or
//     sendmail on this machine (protocol "local") -- all from the ordinary submitter;
//   - the local agent (forwards with SRS, auto-replies, quota warnings);
//   - the queue manager (bounces, delay warnings).
// Mail that a stranger sent to a domain this server relays for (a backup MX) is not
// signed: its From: is the stranger's word.
// The domain: the From: header's domain, or the nearest parent of it that has a key
// (DMARC relaxed alignment, RFC 7489 3.1.1); for the mail system's own messages
// (local agent, queue manager) failing that the envelope sender's domain or a parent,
// which is the domain a forward claims through SRS.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/net/cidr.hpp"
#include "common/spool/origin.hpp"

namespace common::dkim {

struct SignFacts {
  common::spool::Origin origin = common::spool::Origin::kSubmitter;
  std::string protocol;     // the envelope's P
  std::string client;       // the envelope's C ("helo [address]")
  std::string auth_user;    // the envelope's A
  std::string sender;       // envelope sender, "" for the null sender
  std::string from_domain;  // from_header_domain() of the message, "" if none
};

struct Decision {
  bool sign = false;
  std::string domain;  // d=, when sign
  std::string why;     // for the log: why not, or on what grounds
};

Decision decide(const SignFacts& f, const common::net::NetworkList& relay_networks,
                const std::function<bool(std::string_view domain)>& has_key);

// UNTRUSTED (message text): the domain of the one address in a From: field's value
// ("Name <a@b.example>", "a@b.example (comment)"), lower case; "" if the value does not
// hold exactly one address with a domain.
std::string from_header_domain(std::string_view value);

// The client's address from the envelope's C record ("helo [192.0.2.1]",
// "helo [IPv6:2001:db8::1]"); "" if there is none.
std::string client_address(std::string_view client);

}  // namespace common::dkim
