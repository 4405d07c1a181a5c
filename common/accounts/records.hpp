// The records of the accounts database (accounts.hpp): domains, users and aliases, as
// mailctl writes them and every program reads them. Each lists its fields once, for the
// codec that stores it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace common::accounts {

inline constexpr std::uint32_t kRecordVersion = 1;

struct Domain {
  std::uint32_t version = kRecordVersion;
  std::string name;
  std::string alias_of;               // domain alias: all mail goes to the same local part there
  std::string catchall;               // address for unknown local parts ("" = reject them)
  std::int64_t default_quota = 0;     // bytes for new users, 0 = none
  std::int64_t max_message_size = 0;  // 0 = global limit
  std::int64_t max_recipients = 0;    // 0 = global limit
  std::int64_t created = 0;
  template <class F>
  void fields(F& f) {
    f(version);
    f(name);
    f(alias_of);
    f(catchall);
    f(default_quota);
    f(max_message_size);
    f(max_recipients);
    f(created);
  }
};

struct Autoreply {
  bool enabled = false;
  std::string subject;
  std::string text;
  std::int64_t start = 0;  // UNIX time, 0 = now
  std::int64_t end = 0;    // UNIX time, 0 = open-ended
  std::int64_t interval_days = 7;
  template <class F>
  void fields(F& f) {
    f(enabled);
    f(subject);
    f(text);
    f(start);
    f(end);
    f(interval_days);
  }
};

struct User {
  std::uint32_t version = kRecordVersion;
  std::string address;     // "local@domain"
  std::string maildir;     // relative to mail_directory: "domain/local"
  std::int64_t quota = 0;  // bytes, 0 = unlimited
  bool disabled = false;
  std::vector<std::string> forward;  // redirection targets
  bool keep_copy = true;             // with forward: also deliver locally
  Autoreply autoreply;
  std::int64_t created = 0;
  // Mail the server marked as junk goes into the Maildir++ folder ".Junk" (false: into
  // the inbox like any other). Added after the first records were written: a record that
  // ends before it decodes with this default (accounts.cpp).
  bool junk_folder = true;
  template <class F>
  void fields(F& f) {
    f(version);
    f(address);
    f(maildir);
    f(quota);
    f(disabled);
    f(forward);
    f(keep_copy);
    f(autoreply);
    f(created);
    f(junk_folder);
  }
};

struct Alias {
  std::uint32_t version = kRecordVersion;
  std::string address;
  std::vector<std::string> targets;
  template <class F>
  void fields(F& f) {
    f(version);
    f(address);
    f(targets);
  }
};

// A relay recipient: an address of a relay_domains domain (we are its backup MX) that
// the primary accepts. The key is "local@domain"; "@domain" marks that the domain has a
// list (possibly empty), so that unknown local parts are refused at RCPT.
struct RelayRecipient {
  std::uint32_t version = kRecordVersion;
  std::string address;
  template <class F>
  void fields(F& f) {
    f(version);
    f(address);
  }
};

// An ODMR grant (RFC 2645, mailctl atrn): the account `login` may pull the mail queued
// for `domain` with ATRN. The key is "login domain" (both lower case).
struct AtrnGrant {
  std::uint32_t version = kRecordVersion;
  std::string login;
  std::string domain;
  template <class F>
  void fields(F& f) {
    f(version);
    f(login);
    f(domain);
  }
};

// An administrator's filtering rule (mailctl rule; common/checks/rules.hpp parses and
// applies them). kind: "sender", "client", "word" or "attachment-size"; action:
// "reject", "allow" (sender) or "junk" (word); scope: for a sender rule, the recipient
// domain it is limited to ("" = all). The key is filter_rule_key() (accounts.hpp).
struct FilterRule {
  std::uint32_t version = kRecordVersion;
  std::string kind;
  std::string pattern;  // normalised: lower case, A-labels, canonical network, decimal size
  std::string action;
  std::string scope;
  template <class F>
  void fields(F& f) {
    f(version);
    f(kind);
    f(pattern);
    f(action);
    f(scope);
  }
};

}  // namespace common::accounts
