// The blocking client of the TLS key daemon (see key_client.hpp).
#include "common/tls/key_client.hpp"

#include <cerrno>
#include <chrono>

#include "common/io/fdio.hpp"
#include "common/ipc/codec.hpp"
#include "common/ipc/socket.hpp"

namespace common::tls {

namespace {

int left_ms(std::chrono::steady_clock::time_point end) {
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
  return ms > 0 ? static_cast<int>(ms) : 0;
}

}  // namespace

KeyClient::KeyClient(std::string socket_path, std::string role, int timeout_ms)
    : path_(std::move(socket_path)), role_(std::move(role)), timeout_ms_(timeout_ms) {}

Status KeyClient::connect_locked(int timeout_ms) {
  fd_.reset();
  auto s = ipc::connect_unix(path_);
  if (!s) return s.status();
  MB_TRY(io::set_nonblocking(s->get()));
  ipc::Hello h;
  h.protocol = ipc::kProtoTlsKey;
  h.version = ipc::kProtoVersion;
  h.role = role_;
  MB_TRY(ipc::send_frame(s->get(), ipc::encode_frame(h)));
  auto r = ipc::recv_frame_timeout(s->get(), timeout_ms);
  if (!r) return Status::error("no Hello from the key daemon: " + r.message(), r.status().err());
  if (r->eof) return Status::error("the key daemon closed the connection (refused?)", ECONNRESET);
  auto f = ipc::parse_frame(r->data);
  if (!f) return f.status();
  auto peer = ipc::decode<ipc::Hello>(*f);
  if (!peer || peer->protocol != ipc::kProtoTlsKey || peer->version != ipc::kProtoVersion)
    return Status::error("the key daemon's Hello is not of its protocol", EPROTO);
  fd_ = std::move(*s);
  return Status::ok();
}

Result<ipc::KeyOpDone> KeyClient::exchange_locked(const std::string& frame, std::uint64_t id,
                                                  int timeout_ms) {
  if (Status st = ipc::send_frame(fd_.get(), frame); !st) return st;
  auto r = ipc::recv_frame_timeout(fd_.get(), timeout_ms);
  if (!r) return r.status();
  if (r->eof) return Status::error("the key daemon closed the connection", ECONNRESET);
  auto f = ipc::parse_frame(r->data);
  if (!f) return f.status();
  auto done = ipc::decode<ipc::KeyOpDone>(*f);
  if (!done) return done.status();
  if (done->request_id != id) return Status::error("answer to another request", EPROTO);
  return done;
}

Result<ipc::KeyOpDone> KeyClient::call(ipc::KeyOpKind op, const std::string& key_id, std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  ipc::KeyOp req;
  req.request_id = next_id_++;
  req.op = op;
  req.key_id = key_id;
  req.data.assign(data);
  std::string frame = ipc::encode_frame(req);
  // A kept connection may be to a daemon that has restarted since: try a new one once.
  bool reused = fd_.valid();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!fd_.valid()) {
      reused = false;
      if (Status st = connect_locked(left_ms(end)); !st)
        return Status::error("connect " + path_ + ": " + st.message(), st.err());
    }
    auto r = exchange_locked(frame, req.request_id, left_ms(end));
    if (r) return r;
    fd_.reset();  // nothing more is read from a connection in an unknown state
    if (!reused || r.status().err() == ETIMEDOUT) return r.status();
  }
  return Status::error("the key daemon is not reachable");
}

}  // namespace common::tls
