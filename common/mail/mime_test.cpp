// Unit tests for the MIME walker and the content rules (common/mail/mime.hpp,
// mime_scan.hpp): multipart (RFC 2046 5.1), transfer decodings (RFC 2045 6.7, 6.8),
// encoded words in the Subject (RFC 2047), attachment sizes at and past the limit, and
// each limit of the walker: nesting, part count, header size, a boundary that never ends.
#include "common/mail/mime.hpp"

#include <doctest/doctest.h>

#include "common/mail/mime_scan.hpp"

using namespace common::mail;

namespace {

std::string b64(const std::string& s) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8 | (unsigned char)s[i + 2];
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += a[v & 63];
    if (out.size() % 78 == 76) out += "\r\n";
  }
  if (i + 1 == s.size()) {
    unsigned v = (unsigned char)s[i] << 16;
    out += std::string{a[v >> 18], a[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == s.size()) {
    unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8;
    out += std::string{a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
  }
  return out;
}

std::string with_attachment(std::size_t n) {
  return "Subject: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\n"
         "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"x.bin\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         b64(std::string(n, 'z')) + "\r\n--b1--\r\nepilogue\r\n";
}

ContentRules words(std::vector<std::string> reject, std::vector<std::string> junk = {}) {
  ContentRules r;
  r.reject_words = std::move(reject);
  r.junk_words = std::move(junk);
  return r;
}

}  // namespace

TEST_CASE("RFC 2046 5.1: multipart parts, preamble and epilogue ignored") {
  std::vector<std::string> bodies, types;
  auto w = walk_mime(with_attachment(3), {}, [&](const MimePart& p) {
    bodies.emplace_back(p.body);
    types.push_back(p.type);
    return true;
  });
  CHECK(w.status == MimeStatus::kOk);
  CHECK(w.subject == "report");
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[0] == "see attached");  // the CRLF before the delimiter is the delimiter's
  CHECK(types[1] == "application/octet-stream");
  CHECK(w.parts == 3);
}

TEST_CASE("parameters: quoted, case, RFC 2231 pieces") {
  bool present = false;
  CHECK(mime_parameter("multipart/mixed; BOUNDARY=\"a;b\"; x=1", "boundary") == "a;b");
  CHECK(mime_parameter("attachment; filename*0=\"a\"; filename*1=\"b\"", "filename", &present) == "a");
  CHECK(present);
  CHECK(mime_parameter("text/plain; charset=utf-8", "name", &present) == "");
  CHECK_FALSE(present);
  CHECK(mime_parameter("text/plain; filename=x", "name") == "");
  CHECK(mime_parameter("text/plain; name=\"unterminated", "name") == "unterminated");
}

TEST_CASE("words in a base64 body, a quoted-printable body, an encoded Subject") {
  std::string b = "Subject: hi\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                  b64("Buy CHEAP\r\npills now") + "\r\n";
  auto r = scan_content(b, words({"cheap pills"}));
  CHECK(r.verdict == ContentVerdict::kRejectWord);
  CHECK(r.detail == "part 1");
  std::string q = "Subject: hi\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nche=\r\nap pi=6Cls\r\n";
  CHECK(scan_content(q, words({"cheap pills"})).verdict == ContentVerdict::kRejectWord);
  std::string s = "Subject: =?utf-8?Q?Cheap_?=\r\n =?utf-8?B?cGlsbHM=?=\r\n\r\nnothing\r\n";
  r = scan_content(s, words({"cheap pills"}));
  CHECK(r.verdict == ContentVerdict::kRejectWord);
  CHECK(r.detail == "subject");
  CHECK(scan_content(s, words({"nothing at all"})).verdict == ContentVerdict::kPass);
  // Not in text parts: an image's bytes are not words.
  std::string img =
      "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64("cheap pills");
  CHECK(scan_content(img, words({"cheap pills"})).verdict == ContentVerdict::kPass);
}

TEST_CASE("words in the part's charset and in any capitals (RFC 2046 4.1.2, RFC 2047)") {
  // "PRÄMIE" in ISO-8859-1, quoted-printable; the rule is written in UTF-8, lower case.
  std::string latin1 =
      "Subject: hi\r\nContent-Type: text/plain; charset=\"ISO-8859-1\"\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nIhre PR=C4MIE wartet\r\n";
  CHECK(scan_content(latin1, words({"pr\xc3\xa4mie"})).verdict == ContentVerdict::kRejectWord);
  // The same octets read as UTF-8 would not match (0xC4 alone is not UTF-8).
  std::string no_charset = "Subject: hi\r\n\r\nIhre PR\xc4MIE wartet\r\n";
  CHECK(scan_content(no_charset, words({"pr\xc3\xa4mie"})).verdict == ContentVerdict::kPass);
  // KOI8-R body, base64; the rule in capitals ("ПРИЗ").
  std::string koi = "Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                    b64("\xd7\xc1\xdb \xf0\xd2\xc9\xda") + "\r\n";  // "ваш Приз"
  CHECK(scan_content(koi, words({"\xd0\x9f\xd0\xa0\xd0\x98\xd0\x97"})).verdict ==
        ContentVerdict::kRejectWord);
  // An ISO-8859-1 encoded word in the Subject.
  std::string subj = "Subject: =?ISO-8859-1?Q?Ihre_Pr=E4mie?=\r\n\r\nnothing\r\n";
  auto r = scan_content(subj, words({}, {"PR\xc3\x84MIE"}));
  CHECK(r.verdict == ContentVerdict::kJunkWord);
  CHECK(r.detail == "subject");
}

TEST_CASE("junk words: noted, a later reject still refuses") {
  std::string m =
      "Subject: offer\r\nContent-Type: multipart/alternative; boundary=q\r\n\r\n--q\r\n\r\nlottery win\r\n"
      "--q\r\nContent-Type: text/html\r\n\r\n<b>forbidden</b>\r\n--q--\r\n";
  CHECK(scan_content(m, words({}, {"lottery"})).verdict == ContentVerdict::kJunkWord);
  CHECK(scan_content(m, words({"forbidden"}, {"lottery"})).verdict == ContentVerdict::kRejectWord);
  CHECK(scan_content(m, words({}, {"offer"})).detail == "subject");
}

TEST_CASE("attachment size: exactly the limit passes, one more octet refuses") {
  ContentRules r;
  r.attachment_max = 1000;
  CHECK(scan_content(with_attachment(1000), r).verdict == ContentVerdict::kPass);
  auto over = scan_content(with_attachment(1001), r);
  CHECK(over.verdict == ContentVerdict::kAttachmentSize);
  CHECK(over.detail == "part 3: 1001 bytes");
  // The text body is not an attachment, whatever its size.
  std::string big = "Subject: x\r\n\r\n" + std::string(5000, 'a') + "\r\n";
  CHECK(scan_content(big, r).verdict == ContentVerdict::kPass);
  // A named part is one, also inline.
  std::string named = "Content-Type: text/plain; name=\"a.txt\"\r\n\r\n" + std::string(1001, 'a');
  CHECK(scan_content(named, r).verdict == ContentVerdict::kAttachmentSize);
}

TEST_CASE("limits: nesting depth") {
  std::string m;
  for (int i = 0; i < 30; ++i)
    m += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) +
         "\r\n";
  m += "\r\ncheap pills\r\n";
  auto w = walk_mime(m, {}, [](const MimePart&) { return true; });
  CHECK(w.status == MimeStatus::kTooDeep);
  auto r = scan_content(m, words({"zzz"}));
  CHECK(r.verdict == ContentVerdict::kUnreadable);
  CHECK(r.detail == "MIME nesting too deep");
  MimeLimits deep;
  deep.max_depth = 40;
  CHECK(scan_content(m, words({"cheap pills"}), deep).verdict == ContentVerdict::kRejectWord);
}

TEST_CASE("limits: 10,000 parts give a verdict, not a crash") {
  std::string m = "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (int i = 0; i < 10000; ++i) m += "--p\r\n\r\nx\r\n";
  m += "--p--\r\n";
  auto r = scan_content(m, words({"zzz"}));
  CHECK(r.verdict == ContentVerdict::kUnreadable);
  CHECK(r.detail == "too many MIME parts");
  MimeLimits many;
  many.max_parts = 20000;
  CHECK(scan_content(m, words({"zzz"}), many).verdict == ContentVerdict::kPass);
  // A reject found before the limit still names the word.
  std::string early = "Content-Type: multipart/mixed; boundary=p\r\n\r\n--p\r\n\r\nbad word\r\n";
  for (int i = 0; i < 2000; ++i) early += "--p\r\n\r\nx\r\n";
  CHECK(scan_content(early, words({"bad word"})).verdict == ContentVerdict::kRejectWord);
}

TEST_CASE("limits: a boundary that never ends, a multipart without boundary") {
  std::string m = "Content-Type: multipart/mixed; boundary=never\r\n\r\n--never\r\n\r\nstill read: bad word";
  CHECK(scan_content(m, words({"bad word"})).verdict == ContentVerdict::kRejectWord);
  std::string none = "Content-Type: multipart/mixed\r\n\r\nbad word\r\n";
  CHECK(scan_content(none, words({"bad word"})).verdict == ContentVerdict::kRejectWord);
  std::string no_delim = "Content-Type: multipart/mixed; boundary=x\r\n\r\nonly preamble bad word\r\n";
  CHECK(scan_content(no_delim, words({"bad word"})).verdict == ContentVerdict::kPass);
}

TEST_CASE("limits: huge and endlessly folded headers") {
  std::string folded = "Subject: start";
  for (int i = 0; i < 100000; ++i) folded += "\r\n x";
  folded += "\r\n\r\nbody\r\n";
  auto r = scan_content(folded, words({"zzz"}));
  CHECK(r.verdict == ContentVerdict::kPass);  // 400 KB of header: read, the field cut at 64 KB
  std::string huge = "Subject: " + std::string(2 * 1024 * 1024, 'a') + "\r\n\r\nbody\r\n";
  r = scan_content(huge, words({"body"}));
  CHECK(r.verdict == ContentVerdict::kUnreadable);
  CHECK(r.detail == "header section too long");
  std::string no_body = "Subject: bad word";  // no empty line: all header
  CHECK(scan_content(no_body, words({"bad word"})).verdict == ContentVerdict::kRejectWord);
}

TEST_CASE("LF-only line ends and message/rfc822 parts are read too") {
  std::string m =
      "Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: message/rfc822\n\n"
      "Subject: inner\nContent-Transfer-Encoding: quoted-printable\n\nbad=20word\n--z--\n";
  CHECK(scan_content(m, words({"bad word"})).verdict == ContentVerdict::kRejectWord);
  CHECK(scan_content("", words({"x"})).verdict == ContentVerdict::kPass);
}
