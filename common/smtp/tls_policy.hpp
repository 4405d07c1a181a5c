// How much TLS an outgoing SMTP session insists on: the smtp_tls_policy key of
// mailbag.conf (parsed once by common/config) and the client session (client.hpp).
#pragma once

#include <cstdint>

namespace common::smtp {

// kNone never tries STARTTLS (a reconnection after an opportunistic handshake failed);
// kMay uses it when offered; kEncrypt and kVerify refuse to go on without it (kVerify's
// certificate check is the driver's job). RFC 3207 4; RFC 7435 (opportunistic TLS).
enum class TlsPolicy : std::uint8_t { kNone, kMay, kEncrypt, kVerify };

}  // namespace common::smtp
