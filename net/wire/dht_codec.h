#pragma once
// Codecs of the DHT messages (net/kademlia/message.h) and signed records
// (net/kademlia/record.h). Wire format: docs/wire.md ("DHT"), schema net/wire/dht.proto.
//
// A DHT frame is a kademlia::Message plus what the transport needs to bind node ids to
// curve keys: the sender's signed contact record, and, in FIND_NODE / FIND_VALUE replies,
// a signed contact record for every contact (the contacts are derived from the records:
// id, first endpoint, curve key). The decoder checks shapes and limits only; signatures are
// checked by the caller (net/node), which caches verified records.
//
// Decoders never throw or assert; every failure is InvalidArgument saying what is wrong
// ("find_node_reply: 21 contacts, at most 20"). Encoders check the same limits so that we
// never send what a peer must refuse. Thread-safe free functions.

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "net/kademlia/message.h"
#include "net/kademlia/record.h"

namespace gnr::wire {

struct DhtLimits {
  // Contacts per FIND_NODE / FIND_VALUE reply (Kademlia k).
  size_t max_contacts = 20;
  // Largest value of a mutable record (bytes); the DHT's own canonical-size limit
  // (kademlia::RecordLimits::max_record_size) is checked by ValidateRecord.
  size_t max_value_size = 16 * 1024;
  // Largest StoreReply message kept.
  size_t max_message_size = 1024;
};

struct DhtFrame {
  kademlia::Message message = {};
  // The sender's signed contact record: required in requests, optional in replies.
  std::optional<kademlia::Record> sender = {};
  // FIND_NODE / FIND_VALUE replies: one signed contact record per contact of the reply's
  // `closer`, same order. Empty for other messages.
  std::vector<kademlia::Record> contact_records = {};
};

// Encodes a frame (with the 2-byte protocol prefix). The contacts of a reply are taken from
// `contact_records` (the reply's `closer` must match them: same ids, in order).
// InvalidArgument for a frame over the limits, unsigned records, or mismatched contacts.
absl::StatusOr<Bytes> EncodeDhtFrame(const DhtFrame& frame, const DhtLimits& limits = {});

// Decodes a header frame of protocol kDht. Checks: prefix, size <= kMaxHeaderSize, protobuf
// well-formed, exactly one body, id/key sizes (20), curve keys (32), public keys (33,
// 0x02/0x03 prefix), signatures (65, present), endpoints (count <= 8, syntax), names
// (<= 255), values (<= max_value_size), contacts (<= max_contacts, contact records only),
// StoreReply code (0..16), sender present in requests and a contact record.
absl::StatusOr<DhtFrame> DecodeDhtFrame(ByteView header, const DhtLimits& limits = {});

// A signed record on its own (bootstrap seeds, configuration files, snapshots): the
// protobuf Record message, without frame prefix.
absl::StatusOr<Bytes> EncodeRecord(const kademlia::Record& record, const DhtLimits& limits = {});
absl::StatusOr<kademlia::Record> DecodeRecord(ByteView bytes, const DhtLimits& limits = {});

// The Contact a contact record describes (id, first endpoint, curve key); InvalidArgument
// for another record kind.
absl::StatusOr<kademlia::Contact> ContactOf(const kademlia::Record& record);

}  // namespace gnr::wire
