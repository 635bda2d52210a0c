#pragma once
// SharedBytes: an immutable, reference-counted byte buffer that travels through the transport
// without being copied.
//
// A SharedBytes is a view (pointer + size) plus a type-erased owner that keeps the memory
// alive. Copies share the owner (cheap, thread-safe reference counting); the memory is freed
// when the last copy, and the last ZeroMQ message made from it, let go. This is how a shard
// payload is handed to the transport (which sends it zero-copy: ZeroMQ reads the caller's
// buffer and releases the owner once the bytes are on the wire) and how a received payload
// is delivered (the owner is the received ZeroMQ message itself, so no extra copy is made).
//
//   Bytes shard = ...;                              // 16 MiB
//   SharedBytes payload(std::move(shard));          // no copy: the vector is moved
//   SharedBytes first_kib = payload.Subrange(0, 1024);  // no copy: shares the owner
//
// The bytes must not be modified while any SharedBytes refers to them. Thread-safety: like
// std::shared_ptr — distinct SharedBytes objects may be used from different threads even if
// they share memory.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "common/bytes.h"

namespace gnr::net_zmq {

class SharedBytes {
 public:
  // Empty (size 0, no owner).
  SharedBytes() = default;

  // Takes ownership of `bytes` (moved, not copied).
  explicit SharedBytes(Bytes bytes);

  // Shares ownership of `*bytes`; a null pointer gives an empty SharedBytes.
  explicit SharedBytes(std::shared_ptr<const Bytes> bytes);

  // Views `view`, which `owner` keeps alive (e.g. a slice of a larger segment buffer).
  // `view` must stay valid and unmodified for as long as `owner` is alive.
  SharedBytes(std::shared_ptr<const void> owner, ByteView view)
      : owner_(std::move(owner)), view_(view) {}

  // Copies `bytes` into a new buffer.
  static SharedBytes Copy(ByteView bytes);

  const uint8_t* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }
  ByteView view() const { return view_; }

  // The bytes [offset, offset + length) sharing this buffer's owner. The range is clamped to
  // the buffer (an offset past the end gives an empty result).
  SharedBytes Subrange(size_t offset, size_t length) const;

  // Copies the bytes into a new vector.
  Bytes ToBytes() const { return Bytes(view_.begin(), view_.end()); }

  // The object keeping the memory alive (null when empty and not constructed with an owner).
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  std::shared_ptr<const void> owner_;
  ByteView view_;
};

}  // namespace gnr::net_zmq
