#include "net/kademlia/record.h"

#include <type_traits>

#include "absl/strings/str_cat.h"
#include "common/overloaded.h"
#include "common/strings.h"

namespace gnr::kademlia {
namespace {

constexpr std::string_view kDomain = "gnr/dht/record/v1";
constexpr std::string_view kCapacityTag = "gnr/dht/capacity";

void PutU8(Bytes& out, uint8_t v) { out.push_back(v); }
void PutU32(Bytes& out, uint32_t v) {
  FixedBytes<4> b;
  PutBigEndian32(v, b);
  Append(out, b);
}
void PutU64(Bytes& out, uint64_t v) {
  FixedBytes<8> b;
  PutBigEndian64(v, b);
  Append(out, b);
}
void PutTime(Bytes& out, absl::Time t) {
  PutU64(out, static_cast<uint64_t>(absl::ToUnixMicros(t)));
}

}  // namespace

absl::Time Record::time() const {
  return std::visit([](const auto& b) { return b.time; }, body);
}

std::string_view RecordKindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kContact:
      return "contact";
    case RecordKind::kCapacity:
      return "capacity";
    case RecordKind::kMutable:
      return "mutable";
  }
  return "unknown";
}

Key ContactKey(const NodeId& node) { return node; }

Key CapacityKey(const NodeId& node) { return HashToKey({AsBytes(kCapacityTag), node.view()}); }

Key MutableKey(const PublicKeyBytes& public_key, std::string_view name) {
  return HashToKey({public_key, AsBytes(name)});
}

Key RecordKey(const Record& record) {
  return std::visit(Overloaded{
                        [](const ContactRecord& r) { return ContactKey(r.node_id); },
                        [](const CapacityRecord& r) { return CapacityKey(r.node_id); },
                        [](const MutableRecord& r) { return MutableKey(r.public_key, r.name); },
                    },
                    record.body);
}

NodeId NodeIdOfPublicKey(const PublicKeyBytes& compressed) {
  return NodeId(crypto::Ripemd160(crypto::Sha256(compressed)));
}

absl::StatusOr<Bytes> CanonicalEncoding(const Record& record) {
  Bytes out;
  out.reserve(128);
  Append(out, AsBytes(kDomain));
  PutU8(out, static_cast<uint8_t>(record.kind()));
  if (const auto* c = std::get_if<ContactRecord>(&record.body)) {
    if (c->endpoints.size() > kMaxEndpoints) {
      return absl::InvalidArgumentError(absl::StrCat("contact record has ", c->endpoints.size(),
                                                     " endpoints, at most ", kMaxEndpoints));
    }
    Append(out, c->node_id.view());
    Append(out, c->curve_key);
    PutU32(out, c->version);
    PutTime(out, c->time);
    PutU8(out, static_cast<uint8_t>(c->endpoints.size()));
    for (const std::string& e : c->endpoints) {
      if (e.size() > kMaxEndpointLength) {
        return absl::InvalidArgumentError(
            absl::StrCat("contact endpoint is ", e.size(), " bytes, at most ", kMaxEndpointLength));
      }
      PutU8(out, static_cast<uint8_t>(e.size()));
      Append(out, AsBytes(e));
    }
  } else if (const auto* p = std::get_if<CapacityRecord>(&record.body)) {
    Append(out, p->node_id.view());
    PutU64(out, p->capacity_bytes);
    PutU64(out, p->free_bytes);
    PutTime(out, p->time);
  } else {
    const auto& m = std::get<MutableRecord>(record.body);
    if (m.name.size() > kMaxNameLength) {
      return absl::InvalidArgumentError(absl::StrCat("mutable record name is ", m.name.size(),
                                                     " bytes, at most ", kMaxNameLength));
    }
    if (m.value.size() > UINT32_MAX) {
      return absl::InvalidArgumentError("mutable record value exceeds 4 GiB");
    }
    Append(out, m.public_key);
    PutU8(out, static_cast<uint8_t>(m.name.size()));
    Append(out, AsBytes(m.name));
    PutU64(out, m.seq);
    PutTime(out, m.time);
    PutU32(out, static_cast<uint32_t>(m.value.size()));
    Append(out, m.value);
  }
  return out;
}

absl::StatusOr<crypto::Hash256> RecordDigest(const Record& record) {
  absl::StatusOr<Bytes> canonical = CanonicalEncoding(record);
  if (!canonical.ok()) return canonical.status();
  return crypto::Sha256(*canonical);
}

absl::Status ValidateRecord(const Record& record, absl::Time now, const RecordLimits& limits,
                            const RecordAuthenticator& auth) {
  std::string_view kind = RecordKindName(record.kind());
  if (record.signature.empty()) {
    return absl::UnauthenticatedError(absl::StrCat("unsigned ", AbslView(kind), " record"));
  }
  if (record.signature.size() != kSignatureSize) {
    return absl::UnauthenticatedError(absl::StrCat("record signature must be ", kSignatureSize,
                                                   " bytes, got ", record.signature.size()));
  }
  absl::StatusOr<Bytes> canonical = CanonicalEncoding(record);
  if (!canonical.ok()) return canonical.status();
  if (canonical->size() > limits.max_record_size) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(kind), " record is ", canonical->size(),
                                                   " bytes, limit ", limits.max_record_size));
  }
  absl::Time t = record.time();
  if (t > now + limits.max_clock_skew) {
    return absl::OutOfRangeError(absl::StrCat(AbslView(kind), " record time ", absl::FormatTime(t),
                                              " is in the future (now ", absl::FormatTime(now),
                                              ")"));
  }
  if (now >= t + limits.ttl) {
    return absl::OutOfRangeError(
        absl::StrCat(AbslView(kind), " record expired at ", absl::FormatTime(t + limits.ttl)));
  }
  absl::StatusOr<PublicKeyBytes> signer =
      auth.RecoverSigner(crypto::Sha256(*canonical), record.signature);
  if (!signer.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("bad ", AbslView(kind), " record signature: ", signer.status().message()));
  }
  if (const auto* m = std::get_if<MutableRecord>(&record.body)) {
    if (*signer != m->public_key) {
      return absl::UnauthenticatedError(
          "forged mutable record: not signed by the owner's public key");
    }
    return absl::OkStatus();
  }
  NodeId owner = std::holds_alternative<ContactRecord>(record.body)
                     ? std::get<ContactRecord>(record.body).node_id
                     : std::get<CapacityRecord>(record.body).node_id;
  NodeId signer_id = NodeIdOfPublicKey(*signer);
  if (signer_id != owner) {
    return absl::UnauthenticatedError(absl::StrCat("forged ", AbslView(kind), " record for node ",
                                                   owner.ShortHex(), ": signed by node ",
                                                   signer_id.ShortHex()));
  }
  return absl::OkStatus();
}

RecordOrder CompareRecords(const Record& stored, const Record& incoming) {
  if (stored.body.index() != incoming.body.index()) return RecordOrder::kStale;
  if (stored.body == incoming.body) return RecordOrder::kSame;
  if (const auto* in = std::get_if<MutableRecord>(&incoming.body)) {
    const auto& old = std::get<MutableRecord>(stored.body);
    if (in->seq > old.seq) return RecordOrder::kNewer;
    if (in->seq == old.seq && in->value == old.value && in->time > old.time) {
      return RecordOrder::kNewer;  // the owner re-signed the same value to
                                   // extend its life
    }
    return RecordOrder::kStale;
  }
  return incoming.time() > stored.time() ? RecordOrder::kNewer : RecordOrder::kStale;
}

std::string StaleReason(const Record& stored, const Record& incoming) {
  if (stored.body.index() != incoming.body.index()) {
    return absl::StrCat("record kind ", AbslView(RecordKindName(incoming.kind())),
                        " does not match stored kind ", AbslView(RecordKindName(stored.kind())));
  }
  if (const auto* in = std::get_if<MutableRecord>(&incoming.body)) {
    const auto& old = std::get<MutableRecord>(stored.body);
    if (in->seq == old.seq && in->value != old.value) {
      return absl::StrCat("stale mutable record: seq ", in->seq,
                          " equals stored seq with a different value");
    }
    return absl::StrCat("stale mutable record: seq ", in->seq, " <= stored seq ", old.seq);
  }
  return absl::StrCat("stale ", AbslView(RecordKindName(incoming.kind())), " record: time ",
                      absl::FormatTime(incoming.time()), " <= stored time ",
                      absl::FormatTime(stored.time()));
}

}  // namespace gnr::kademlia
