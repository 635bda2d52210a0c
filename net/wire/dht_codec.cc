#include "net/wire/dht_codec.h"

#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "common/overloaded.h"
#include "common/status.h"
#include "common/strings.h"
#include "dht.pb.h"
#include "net/wire/frame.h"

namespace gnr::wire {
namespace {

using kademlia::CapacityRecord;
using kademlia::ContactRecord;
using kademlia::MutableRecord;
using kademlia::Record;

absl::Status Invalid(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(where), ": ", AbslView(what)));
}

std::string ToProtoBytes(ByteView b) { return std::string(b.begin(), b.end()); }
ByteView ProtoView(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

template <size_t N>
absl::StatusOr<FixedBytes<N>> Fixed(const std::string& s, std::string_view where) {
  if (s.size() != N) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(where), " must be ", N, " bytes, got ", s.size()));
  }
  FixedBytes<N> out;
  std::copy(s.begin(), s.end(), out.begin());
  return out;
}

absl::StatusOr<kademlia::NodeId> Id(const std::string& s, std::string_view where) {
  GNR_ASSIGN_OR_RETURN(FixedBytes<20> b, Fixed<20>(s, where));
  return kademlia::NodeId(b);
}

// --- records
// ----------------------------------------------------------------------------

absl::Status CheckRecordFields(const Record& record, const DhtLimits& limits) {
  if (record.signature.size() != kademlia::kSignatureSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record signature must be ", kademlia::kSignatureSize, " bytes, got ",
        record.signature.size(), record.signature.empty() ? " (unsigned record)" : ""));
  }
  return std::visit(Overloaded{
                        [&](const ContactRecord& c) -> absl::Status {
                          if (c.endpoints.size() > kademlia::kMaxEndpoints) {
                            return absl::InvalidArgumentError(
                                absl::StrCat("contact record has ", c.endpoints.size(),
                                             " endpoints, at most ", kademlia::kMaxEndpoints));
                          }
                          for (const std::string& e : c.endpoints) {
                            if (absl::Status s = ValidateEndpointSyntax(e); !s.ok()) {
                              return Annotate(s, "contact record");
                            }
                          }
                          return absl::OkStatus();
                        },
                        [&](const CapacityRecord&) { return absl::OkStatus(); },
                        [&](const MutableRecord& m) -> absl::Status {
                          if (m.public_key[0] != 0x02 && m.public_key[0] != 0x03) {
                            return absl::InvalidArgumentError(
                                "mutable record public key must be compressed (0x02/0x03 "
                                "prefix)");
                          }
                          if (m.name.size() > kademlia::kMaxNameLength) {
                            return absl::InvalidArgumentError(
                                absl::StrCat("mutable record name of ", m.name.size(),
                                             " bytes, at most ", kademlia::kMaxNameLength));
                          }
                          if (m.value.size() > limits.max_value_size) {
                            return absl::InvalidArgumentError(
                                absl::StrCat("mutable record value of ", m.value.size(),
                                             " bytes, at most ", limits.max_value_size));
                          }
                          return absl::OkStatus();
                        },
                    },
                    record.body);
}

absl::Status ToProto(const Record& record, const DhtLimits& limits, pb::Record& out) {
  GNR_RETURN_IF_ERROR(CheckRecordFields(record, limits));
  std::visit(Overloaded{
                 [&](const ContactRecord& c) {
                   pb::ContactRecord* p = out.mutable_contact();
                   p->set_node_id(ToProtoBytes(c.node_id.view()));
                   p->set_curve_key(ToProtoBytes(c.curve_key));
                   for (const std::string& e : c.endpoints) p->add_endpoints(e);
                   p->set_version(c.version);
                   p->set_time_us(absl::ToUnixMicros(c.time));
                 },
                 [&](const CapacityRecord& c) {
                   pb::CapacityRecord* p = out.mutable_capacity();
                   p->set_node_id(ToProtoBytes(c.node_id.view()));
                   p->set_capacity_bytes(c.capacity_bytes);
                   p->set_free_bytes(c.free_bytes);
                   p->set_time_us(absl::ToUnixMicros(c.time));
                 },
                 [&](const MutableRecord& m) {
                   pb::MutableRecord* p = out.mutable_mutable_record();
                   p->set_public_key(ToProtoBytes(m.public_key));
                   p->set_name(m.name);
                   p->set_seq(m.seq);
                   p->set_value(ToProtoBytes(m.value));
                   p->set_time_us(absl::ToUnixMicros(m.time));
                 },
             },
             record.body);
  out.set_signature(ToProtoBytes(record.signature));
  return absl::OkStatus();
}

absl::StatusOr<Record> FromProto(const pb::Record& p, const DhtLimits& limits) {
  Record record;
  switch (p.body_case()) {
    case pb::Record::kContact: {
      const pb::ContactRecord& c = p.contact();
      ContactRecord r;
      GNR_ASSIGN_OR_RETURN(r.node_id, Id(c.node_id(), "contact record node id"));
      GNR_ASSIGN_OR_RETURN(r.curve_key, Fixed<32>(c.curve_key(), "contact record curve key"));
      if (static_cast<size_t>(c.endpoints_size()) > kademlia::kMaxEndpoints) {
        return absl::InvalidArgumentError(absl::StrCat("contact record has ", c.endpoints_size(),
                                                       " endpoints, at most ",
                                                       kademlia::kMaxEndpoints));
      }
      for (const std::string& e : c.endpoints()) r.endpoints.push_back(e);
      r.version = c.version();
      r.time = absl::FromUnixMicros(c.time_us());
      record.body = std::move(r);
      break;
    }
    case pb::Record::kCapacity: {
      const pb::CapacityRecord& c = p.capacity();
      CapacityRecord r;
      GNR_ASSIGN_OR_RETURN(r.node_id, Id(c.node_id(), "capacity record node id"));
      r.capacity_bytes = c.capacity_bytes();
      r.free_bytes = c.free_bytes();
      r.time = absl::FromUnixMicros(c.time_us());
      record.body = std::move(r);
      break;
    }
    case pb::Record::kMutableRecord: {
      const pb::MutableRecord& m = p.mutable_record();
      MutableRecord r;
      GNR_ASSIGN_OR_RETURN(r.public_key, Fixed<kademlia::kPublicKeySize>(
                                             m.public_key(), "mutable record public key"));
      if (m.name().size() > kademlia::kMaxNameLength) {
        return absl::InvalidArgumentError(absl::StrCat("mutable record name of ", m.name().size(),
                                                       " bytes, at most ",
                                                       kademlia::kMaxNameLength));
      }
      r.name = m.name();
      r.seq = m.seq();
      if (m.value().size() > limits.max_value_size) {
        return absl::InvalidArgumentError(absl::StrCat("mutable record value of ", m.value().size(),
                                                       " bytes, at most ", limits.max_value_size));
      }
      r.value = ToBytes(ProtoView(m.value()));
      r.time = absl::FromUnixMicros(m.time_us());
      record.body = std::move(r);
      break;
    }
    case pb::Record::BODY_NOT_SET:
      return absl::InvalidArgumentError("record has no body (contact, capacity or mutable)");
  }
  record.signature = ToBytes(ProtoView(p.signature()));
  GNR_RETURN_IF_ERROR(CheckRecordFields(record, limits));
  return record;
}

absl::StatusOr<Record> ContactRecordFromProto(const pb::Record& p, const DhtLimits& limits,
                                              std::string_view where) {
  absl::StatusOr<Record> r = FromProto(p, limits);
  if (!r.ok()) return Annotate(r.status(), where);
  if (r->kind() != kademlia::RecordKind::kContact) {
    return Invalid(where, absl::StrCat("expected a contact record, got a ",
                                       AbslView(kademlia::RecordKindName(r->kind())), " record"));
  }
  return r;
}

absl::Status ContactsToProto(const std::vector<kademlia::Contact>& closer,
                             const std::vector<Record>& records, const DhtLimits& limits,
                             google::protobuf::RepeatedPtrField<pb::Record>& out) {
  if (closer.size() != records.size()) {
    return absl::InvalidArgumentError(absl::StrCat("reply has ", closer.size(), " contacts but ",
                                                   records.size(), " contact records"));
  }
  if (closer.size() > limits.max_contacts) {
    return absl::InvalidArgumentError(
        absl::StrCat("reply has ", closer.size(), " contacts, at most ", limits.max_contacts));
  }
  for (size_t i = 0; i < closer.size(); ++i) {
    const auto* c = std::get_if<ContactRecord>(&records[i].body);
    if (c == nullptr) return absl::InvalidArgumentError("reply contact record of another kind");
    if (c->node_id != closer[i].id) {
      return absl::InvalidArgumentError(absl::StrCat("contact ", i, " is ", closer[i].id.ShortHex(),
                                                     " but its record is for ",
                                                     c->node_id.ShortHex()));
    }
    GNR_RETURN_IF_ERROR(ToProto(records[i], limits, *out.Add()));
  }
  return absl::OkStatus();
}

absl::Status ContactsFromProto(const google::protobuf::RepeatedPtrField<pb::Record>& in,
                               const DhtLimits& limits, std::string_view where,
                               std::vector<kademlia::Contact>& closer,
                               std::vector<Record>& records) {
  if (static_cast<size_t>(in.size()) > limits.max_contacts) {
    return Invalid(where, absl::StrCat(in.size(), " contacts, at most ", limits.max_contacts));
  }
  for (const pb::Record& p : in) {
    GNR_ASSIGN_OR_RETURN(Record r, ContactRecordFromProto(p, limits, where));
    GNR_ASSIGN_OR_RETURN(kademlia::Contact c, ContactOf(r));
    closer.push_back(std::move(c));
    records.push_back(std::move(r));
  }
  return absl::OkStatus();
}

Bytes Serialize(Protocol protocol, const google::protobuf::MessageLite& m) {
  Bytes out(kFramePrefixSize + m.ByteSizeLong());
  out[0] = static_cast<uint8_t>(protocol);
  out[1] = kWireVersion;
  m.SerializeWithCachedSizesToArray(out.data() + kFramePrefixSize);
  return out;
}

}  // namespace

absl::StatusOr<kademlia::Contact> ContactOf(const Record& record) {
  const auto* c = std::get_if<ContactRecord>(&record.body);
  if (c == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a contact record, got a ", AbslView(kademlia::RecordKindName(record.kind()))));
  }
  kademlia::Contact contact;
  contact.id = c->node_id;
  if (!c->endpoints.empty()) contact.endpoint = c->endpoints.front();
  contact.curve_key = c->curve_key;
  return contact;
}

absl::StatusOr<Bytes> EncodeDhtFrame(const DhtFrame& frame, const DhtLimits& limits) {
  pb::DhtMessage m;
  m.set_request_id(frame.message.request_id);
  if (frame.sender.has_value()) {
    if (frame.sender->kind() != kademlia::RecordKind::kContact) {
      return absl::InvalidArgumentError("sender record must be a contact record");
    }
    GNR_RETURN_IF_ERROR(ToProto(*frame.sender, limits, *m.mutable_sender()));
  } else if (kademlia::IsRequest(frame.message.body)) {
    return absl::InvalidArgumentError("a DHT request must carry the sender's contact record");
  }
  const bool has_contacts = std::holds_alternative<kademlia::FindNodeReply>(frame.message.body) ||
                            std::holds_alternative<kademlia::FindValueReply>(frame.message.body);
  if (!has_contacts && !frame.contact_records.empty()) {
    return absl::InvalidArgumentError("contact records on a message without contacts");
  }
  absl::Status status = std::visit(
      Overloaded{
          [&](const kademlia::Ping&) {
            m.mutable_ping();
            return absl::OkStatus();
          },
          [&](const kademlia::Pong&) {
            m.mutable_pong();
            return absl::OkStatus();
          },
          [&](const kademlia::FindNode& f) {
            m.mutable_find_node()->set_target(ToProtoBytes(f.target.view()));
            return absl::OkStatus();
          },
          [&](const kademlia::FindNodeReply& f) {
            return ContactsToProto(f.closer, frame.contact_records, limits,
                                   *m.mutable_find_node_reply()->mutable_contacts());
          },
          [&](const kademlia::FindValue& f) {
            m.mutable_find_value()->set_key(ToProtoBytes(f.key.view()));
            return absl::OkStatus();
          },
          [&](const kademlia::FindValueReply& f) -> absl::Status {
            pb::FindValueReply* p = m.mutable_find_value_reply();
            if (f.record.has_value()) {
              GNR_RETURN_IF_ERROR(ToProto(*f.record, limits, *p->mutable_record()));
            }
            return ContactsToProto(f.closer, frame.contact_records, limits, *p->mutable_contacts());
          },
          [&](const kademlia::Store& s) -> absl::Status {
            pb::Store* p = m.mutable_store();
            GNR_RETURN_IF_ERROR(ToProto(s.record, limits, *p->mutable_record()));
            p->set_cached(s.cached);
            return absl::OkStatus();
          },
          [&](const kademlia::StoreReply& s) {
            pb::StoreReply* p = m.mutable_store_reply();
            p->set_code(static_cast<uint32_t>(s.code));
            p->set_message(s.message.substr(0, limits.max_message_size));
            return absl::OkStatus();
          },
      },
      frame.message.body);
  GNR_RETURN_IF_ERROR(status);
  if (m.ByteSizeLong() + kFramePrefixSize > kMaxHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("DHT message of ", m.ByteSizeLong(), " bytes exceeds the header limit"));
  }
  return Serialize(Protocol::kDht, m);
}

absl::StatusOr<DhtFrame> DecodeDhtFrame(ByteView header, const DhtLimits& limits) {
  GNR_ASSIGN_OR_RETURN(Protocol protocol, PeekProtocol(header));
  if (protocol != Protocol::kDht) {
    return absl::InvalidArgumentError("not a DHT frame (protocol byte is not 1)");
  }
  pb::DhtMessage m;
  const ByteView body = header.subspan(kFramePrefixSize);
  if (!m.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return absl::InvalidArgumentError("DHT message is not a well-formed protobuf DhtMessage");
  }
  DhtFrame frame;
  frame.message.request_id = m.request_id();
  if (m.has_sender()) {
    GNR_ASSIGN_OR_RETURN(frame.sender, ContactRecordFromProto(m.sender(), limits, "sender"));
  }
  switch (m.body_case()) {
    case pb::DhtMessage::kPing:
      frame.message.body = kademlia::Ping{};
      break;
    case pb::DhtMessage::kPong:
      frame.message.body = kademlia::Pong{};
      break;
    case pb::DhtMessage::kFindNode: {
      kademlia::FindNode f;
      GNR_ASSIGN_OR_RETURN(f.target, Id(m.find_node().target(), "find_node target"));
      frame.message.body = f;
      break;
    }
    case pb::DhtMessage::kFindNodeReply: {
      kademlia::FindNodeReply f;
      GNR_RETURN_IF_ERROR(ContactsFromProto(m.find_node_reply().contacts(), limits,
                                            "find_node_reply", f.closer, frame.contact_records));
      frame.message.body = std::move(f);
      break;
    }
    case pb::DhtMessage::kFindValue: {
      kademlia::FindValue f;
      GNR_ASSIGN_OR_RETURN(f.key, Id(m.find_value().key(), "find_value key"));
      frame.message.body = f;
      break;
    }
    case pb::DhtMessage::kFindValueReply: {
      const pb::FindValueReply& p = m.find_value_reply();
      kademlia::FindValueReply f;
      if (p.has_record()) {
        absl::StatusOr<Record> r = FromProto(p.record(), limits);
        if (!r.ok()) return Annotate(r.status(), "find_value_reply record");
        f.record = *std::move(r);
      }
      GNR_RETURN_IF_ERROR(ContactsFromProto(p.contacts(), limits, "find_value_reply", f.closer,
                                            frame.contact_records));
      frame.message.body = std::move(f);
      break;
    }
    case pb::DhtMessage::kStore: {
      const pb::Store& p = m.store();
      if (!p.has_record()) return absl::InvalidArgumentError("store: no record");
      absl::StatusOr<Record> r = FromProto(p.record(), limits);
      if (!r.ok()) return Annotate(r.status(), "store record");
      frame.message.body = kademlia::Store{*std::move(r), p.cached()};
      break;
    }
    case pb::DhtMessage::kStoreReply: {
      const pb::StoreReply& p = m.store_reply();
      if (p.code() > 16) {
        return absl::InvalidArgumentError(
            absl::StrCat("store_reply: status code ", p.code(), " is not 0..16"));
      }
      if (p.message().size() > limits.max_message_size) {
        return absl::InvalidArgumentError(absl::StrCat("store_reply: message of ",
                                                       p.message().size(), " bytes, at most ",
                                                       limits.max_message_size));
      }
      frame.message.body =
          kademlia::StoreReply{static_cast<absl::StatusCode>(p.code()), p.message()};
      break;
    }
    case pb::DhtMessage::BODY_NOT_SET:
      return absl::InvalidArgumentError("DHT message has no body");
  }
  if (kademlia::IsRequest(frame.message.body) && !frame.sender.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(kademlia::MessageName(frame.message.body)),
                     " request without the sender's contact record"));
  }
  return frame;
}

absl::StatusOr<Bytes> EncodeRecord(const Record& record, const DhtLimits& limits) {
  pb::Record p;
  GNR_RETURN_IF_ERROR(ToProto(record, limits, p));
  std::string s = p.SerializeAsString();
  return Bytes(s.begin(), s.end());
}

absl::StatusOr<Record> DecodeRecord(ByteView bytes, const DhtLimits& limits) {
  if (bytes.size() > kMaxHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("record of ", bytes.size(), " bytes exceeds ", kMaxHeaderSize));
  }
  pb::Record p;
  if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("record is not a well-formed protobuf Record");
  }
  return FromProto(p, limits);
}

}  // namespace gnr::wire
