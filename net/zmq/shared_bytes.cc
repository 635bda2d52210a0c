#include "net/zmq/shared_bytes.h"

#include <algorithm>

namespace gnr::net_zmq {

SharedBytes::SharedBytes(Bytes bytes)
    : SharedBytes(std::make_shared<const Bytes>(std::move(bytes))) {}

SharedBytes::SharedBytes(std::shared_ptr<const Bytes> bytes) {
  if (bytes == nullptr) return;
  view_ = ByteView(bytes->data(), bytes->size());
  owner_ = std::move(bytes);
}

SharedBytes SharedBytes::Copy(ByteView bytes) {
  return SharedBytes(Bytes(bytes.begin(), bytes.end()));
}

SharedBytes SharedBytes::Subrange(size_t offset, size_t length) const {
  offset = std::min(offset, view_.size());
  length = std::min(length, view_.size() - offset);
  return SharedBytes(owner_, view_.subspan(offset, length));
}

}  // namespace gnr::net_zmq
