// The message a delivery agent was handed: the queue file's fd (passed by the queue
// manager, read-only) and the byte range of the message inside it. Agents never open
// the queue directory; everything they deliver comes through this fd.
#pragma once

#include <cstdint>

#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace delivery {

struct MessageRef {
  int fd = -1;               // not owned
  std::uint64_t offset = 0;  // first message byte in the file
  std::uint64_t size = 0;    // message bytes (LF line ends)
  std::uint64_t lines = 0;   // LF count of the message
};

// Checks a passed fd against its Deliver request: a regular file, with the message range
// [data_offset, data_offset + data_size) inside it. Errors name what is wrong.
common::Result<MessageRef> check_message(int fd, const common::ipc::Deliver& d);

// Appends the message bytes to `out_fd` at its current file position. Copies inside the
// kernel (copy_file_range, else sendfile) and falls back to read/write where neither
// works (other filesystem, old kernel). Never moves the input fd's file position, which
// the queue manager shares. A file shorter than promised is an error.
common::Status copy_message(const MessageRef& m, int out_fd);

}  // namespace delivery
