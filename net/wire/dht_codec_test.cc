#include "net/wire/dht_codec.h"

#include <string>

#include "common/hex.h"
#include "gtest/gtest.h"
#include "net/wire/frame.h"
#include "tests/testing/status_matchers.h"

namespace gnr::wire {
namespace {

using kademlia::CapacityRecord;
using kademlia::Contact;
using kademlia::ContactRecord;
using kademlia::Message;
using kademlia::MutableRecord;
using kademlia::NodeId;
using kademlia::Record;

NodeId IdOf(uint8_t b) {
  FixedBytes<20> id;
  id.fill(b);
  return NodeId(id);
}

Bytes Sig(uint8_t b) { return Bytes(65, b); }

// A protobuf length-delimited field.
Bytes Field(uint8_t tag, ByteView value) {
  Bytes out = {tag};
  size_t n = value.size();
  do {
    out.push_back(static_cast<uint8_t>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
    n >>= 7;
  } while (n > 0);
  Append(out, value);
  return out;
}

Record ContactRec(uint8_t b, std::string endpoint = "tcp://127.0.0.1:4100") {
  ContactRecord c;
  c.node_id = IdOf(b);
  c.curve_key.fill(static_cast<uint8_t>(b + 1));
  c.endpoints = {std::move(endpoint)};
  c.version = 1;
  c.time = absl::FromUnixMicros(1767225600000000);
  return Record{c, Sig(b)};
}

Record MutableRec() {
  MutableRecord m;
  m.public_key.fill(0x22);
  m.public_key[0] = 0x02;
  m.name = "catalog";
  m.seq = 7;
  m.value = {1, 2, 3};
  m.time = absl::FromUnixMicros(1767225600000001);
  return Record{m, Sig(0x33)};
}

Contact ContactFor(const Record& r) { return *ContactOf(r); }

DhtFrame Request(kademlia::MessageBody body) {
  DhtFrame f;
  f.message = Message{0x0102030405060708ull, std::move(body)};
  f.sender = ContactRec(0xaa);
  return f;
}

absl::StatusOr<DhtFrame> RoundTrip(const DhtFrame& f) {
  absl::StatusOr<Bytes> bytes = EncodeDhtFrame(f);
  if (!bytes.ok()) return bytes.status();
  return DecodeDhtFrame(*bytes);
}

void ExpectSame(const DhtFrame& a, const DhtFrame& b) {
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.sender, b.sender);
  EXPECT_EQ(a.contact_records, b.contact_records);
}

TEST(DhtCodec, RoundTripsEveryMessage) {
  std::vector<DhtFrame> frames;
  frames.push_back(Request(kademlia::Ping{}));
  frames.push_back(Request(kademlia::Pong{}));
  frames.push_back(Request(kademlia::FindNode{IdOf(5)}));
  frames.push_back(Request(kademlia::FindValue{IdOf(6)}));
  frames.push_back(Request(kademlia::Store{MutableRec(), true}));
  frames.push_back(Request(kademlia::Store{ContactRec(9), false}));
  Record cap{CapacityRecord{IdOf(3), 1 << 30, 1 << 20, absl::FromUnixMicros(42)}, Sig(4)};
  frames.push_back(Request(kademlia::Store{cap, false}));
  frames.push_back(Request(kademlia::StoreReply{absl::StatusCode::kFailedPrecondition, "stale"}));
  {
    DhtFrame f = Request(kademlia::FindNodeReply{});
    for (uint8_t i = 1; i <= 20; ++i) {
      f.contact_records.push_back(ContactRec(i));
      std::get<kademlia::FindNodeReply>(f.message.body)
          .closer.push_back(ContactFor(f.contact_records.back()));
    }
    frames.push_back(f);
  }
  {
    DhtFrame f = Request(kademlia::FindValueReply{MutableRec(), {}});
    frames.push_back(f);
    DhtFrame g = Request(kademlia::FindValueReply{std::nullopt, {}});
    g.contact_records.push_back(ContactRec(1));
    std::get<kademlia::FindValueReply>(g.message.body)
        .closer.push_back(ContactFor(g.contact_records[0]));
    frames.push_back(g);
  }
  for (const DhtFrame& f : frames) {
    SCOPED_TRACE(kademlia::MessageName(f.message.body));
    ASSERT_OK_AND_ASSIGN(DhtFrame back, RoundTrip(f));
    ExpectSame(f, back);
  }
}

TEST(DhtCodec, RepliesMayOmitTheSender) {
  DhtFrame f;
  f.message = Message{1, kademlia::Pong{}};
  ASSERT_OK_AND_ASSIGN(DhtFrame back, RoundTrip(f));
  EXPECT_FALSE(back.sender.has_value());
}

TEST(DhtCodec, RequestsNeedTheSenderRecord) {
  DhtFrame f;
  f.message = Message{1, kademlia::Ping{}};
  EXPECT_STATUS(EncodeDhtFrame(f), absl::StatusCode::kInvalidArgument);
  // Hand-made: prefix + DhtMessage{request_id = 1, ping {}}.
  Bytes raw = HexLiteral(
      "0101"
      "090100000000000000"
      "1a00");
  EXPECT_STATUS(DecodeDhtFrame(raw), absl::StatusCode::kInvalidArgument);
}

// The encoding is part of the protocol: pin it.
TEST(DhtCodec, GoldenPing) {
  DhtFrame f = Request(kademlia::Ping{});
  ASSERT_OK_AND_ASSIGN(Bytes bytes, EncodeDhtFrame(f));
  EXPECT_EQ(HexEncode(bytes),
            "0101090807060504030201129e010a590a14aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1220"
            "abababababababababababababababababababababababababababababababab1a147463703a2f2f"
            "3132372e302e302e313a34313030200128808082e288d2a3062241aaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaa1a00");
}

TEST(DhtCodec, GoldenFindNodeReply) {
  DhtFrame f;
  f.message = Message{7, kademlia::FindNodeReply{}};
  f.contact_records.push_back(ContactRec(0x10, "tcp://10.0.0.1:1"));
  std::get<kademlia::FindNodeReply>(f.message.body)
      .closer.push_back(ContactFor(f.contact_records[0]));
  ASSERT_OK_AND_ASSIGN(Bytes bytes, EncodeDhtFrame(f));
  EXPECT_EQ(HexEncode(bytes),
            "0101090700000000000000329d010a9a010a550a1410101010101010101010101010101010101010"
            "10122011111111111111111111111111111111111111111111111111111111111111111a10746370"
            "3a2f2f31302e302e302e313a31200128808082e288d2a30622411010101010101010101010101010"
            "10101010101010101010101010101010101010101010101010101010101010101010101010101010"
            "1010101010101010101010");
}

TEST(DhtCodec, GoldenStoreMutable) {
  DhtFrame f = Request(kademlia::Store{MutableRec(), false});
  f.sender.reset();
  f.message.body = kademlia::StoreReply{absl::StatusCode::kOk, ""};
  ASSERT_OK_AND_ASSIGN(Bytes reply, EncodeDhtFrame(f));
  EXPECT_EQ(HexEncode(reply), "01010908070605040302015200");
  ASSERT_OK_AND_ASSIGN(Bytes record, EncodeRecord(MutableRec()));
  EXPECT_EQ(HexEncode(record),
            "1a3c0a21022222222222222222222222222222222222222222222222222222222222222222120763"
            "6174616c6f671807220301020328828082e288d2a306224133333333333333333333333333333333"
            "33333333333333333333333333333333333333333333333333333333333333333333333333333333"
            "333333333333333333");
  ASSERT_OK_AND_ASSIGN(Record back, DecodeRecord(record));
  EXPECT_EQ(back, MutableRec());
}

TEST(DhtCodec, RefusesMalformedFrames) {
  ASSERT_OK_AND_ASSIGN(Bytes good, EncodeDhtFrame(Request(kademlia::FindNode{IdOf(1)})));
  EXPECT_OK(DecodeDhtFrame(good));
  // Every truncation fails cleanly (most are malformed protobuf or missing fields).
  for (size_t n = 0; n < good.size(); ++n) {
    (void)DecodeDhtFrame(ByteView(good).first(n));
  }
  EXPECT_STATUS(DecodeDhtFrame({}), absl::StatusCode::kInvalidArgument);
  Bytes wrong_protocol = good;
  wrong_protocol[0] = 2;
  EXPECT_STATUS(DecodeDhtFrame(wrong_protocol), absl::StatusCode::kInvalidArgument);
  Bytes wrong_version = good;
  wrong_version[1] = 9;
  EXPECT_STATUS(DecodeDhtFrame(wrong_version), absl::StatusCode::kInvalidArgument);
  Bytes garbage = {1, 1, 0xff, 0xff, 0xff};
  EXPECT_STATUS(DecodeDhtFrame(garbage), absl::StatusCode::kInvalidArgument);
  Bytes oversized(kMaxHeaderSize + 1, 0);
  oversized[0] = 1;
  oversized[1] = 1;
  EXPECT_STATUS(DecodeDhtFrame(oversized), absl::StatusCode::kInvalidArgument);
  Bytes no_body = HexLiteral(
      "0101"
      "090100000000000000");
  EXPECT_STATUS(DecodeDhtFrame(no_body), absl::StatusCode::kInvalidArgument);
}

TEST(DhtCodec, RefusesBadFieldSizes) {
  // Hand-made frames: FIND_NODE targets of 19 and 21 bytes.
  ASSERT_OK_AND_ASSIGN(Bytes sender, EncodeRecord(ContactRec(0xaa)));
  for (size_t n : {0, 19, 21}) {
    Bytes raw = HexLiteral(
        "0101"
        "090100000000000000");
    Append(raw, Field(0x12, sender));
    Append(raw, Field(0x2a, Field(0x0a, Bytes(n, 7))));
    SCOPED_TRACE(n);
    EXPECT_STATUS(DecodeDhtFrame(raw), absl::StatusCode::kInvalidArgument);
  }
  {
    Bytes raw = HexLiteral(
        "0101"
        "090100000000000000");
    Append(raw, Field(0x12, sender));
    Append(raw, Field(0x2a, Field(0x0a, Bytes(20, 7))));
    EXPECT_OK(DecodeDhtFrame(raw));
  }

  DhtFrame unsigned_sender = Request(kademlia::Ping{});
  unsigned_sender.sender->signature.clear();
  EXPECT_STATUS(EncodeDhtFrame(unsigned_sender), absl::StatusCode::kInvalidArgument);

  DhtFrame bad_endpoint = Request(kademlia::Ping{});
  bad_endpoint.sender = ContactRec(1, "ipc:///tmp/x");
  EXPECT_STATUS(EncodeDhtFrame(bad_endpoint), absl::StatusCode::kInvalidArgument);

  DhtFrame too_many = Request(kademlia::FindNodeReply{});
  for (uint8_t i = 1; i <= 21; ++i) {
    too_many.contact_records.push_back(ContactRec(i));
    std::get<kademlia::FindNodeReply>(too_many.message.body)
        .closer.push_back(ContactFor(too_many.contact_records.back()));
  }
  EXPECT_STATUS(EncodeDhtFrame(too_many), absl::StatusCode::kInvalidArgument);
  // ... and the decoder refuses it too.
  ASSERT_OK_AND_ASSIGN(Bytes bytes, EncodeDhtFrame(too_many, DhtLimits{.max_contacts = 21}));
  EXPECT_STATUS(DecodeDhtFrame(bytes), absl::StatusCode::kInvalidArgument);

  DhtFrame mismatch = Request(kademlia::FindNodeReply{});
  mismatch.contact_records.push_back(ContactRec(1));
  std::get<kademlia::FindNodeReply>(mismatch.message.body)
      .closer.push_back(ContactFor(ContactRec(2)));
  EXPECT_STATUS(EncodeDhtFrame(mismatch), absl::StatusCode::kInvalidArgument);

  Record big = MutableRec();
  std::get<MutableRecord>(big.body).value.assign(DhtLimits{}.max_value_size + 1, 0);
  EXPECT_STATUS(EncodeRecord(big), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(Bytes big_bytes, EncodeRecord(big, DhtLimits{.max_value_size = 1 << 20}));
  EXPECT_STATUS(DecodeRecord(big_bytes), absl::StatusCode::kInvalidArgument);

  Record uncompressed = MutableRec();
  std::get<MutableRecord>(uncompressed.body).public_key[0] = 0x04;
  EXPECT_STATUS(EncodeRecord(uncompressed), absl::StatusCode::kInvalidArgument);

  DhtFrame capacity_contact = Request(kademlia::FindNodeReply{});
  Record cap{CapacityRecord{IdOf(3), 1, 1, absl::FromUnixMicros(42)}, Sig(4)};
  capacity_contact.contact_records.push_back(cap);
  std::get<kademlia::FindNodeReply>(capacity_contact.message.body)
      .closer.push_back(Contact{IdOf(3), "", {}});
  EXPECT_STATUS(EncodeDhtFrame(capacity_contact), absl::StatusCode::kInvalidArgument);
}

TEST(Frame, EndpointSyntax) {
  EXPECT_OK(ValidateEndpointSyntax("tcp://127.0.0.1:1"));
  EXPECT_OK(ValidateEndpointSyntax("tcp://[::1]:65535"));
  EXPECT_OK(ValidateEndpointSyntax("tcp://farmer.example:4100"));
  for (std::string_view bad : {"", "tcp://", "tcp://h", "tcp://h:0", "tcp://h:65536", "udp://h:1",
                               "tcp://h:1x", "tcp://h :1", "tcp://:1"}) {
    SCOPED_TRACE(bad);
    EXPECT_STATUS(ValidateEndpointSyntax(bad), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_STATUS(ValidateEndpointSyntax("tcp://" + std::string(250, 'a') + ":1"),
                absl::StatusCode::kInvalidArgument);
}

TEST(Frame, PeekProtocol) {
  EXPECT_EQ(*PeekProtocol(HexLiteral("0101")), Protocol::kDht);
  EXPECT_EQ(*PeekProtocol(HexLiteral("0201")), Protocol::kShard);
  EXPECT_STATUS(PeekProtocol(HexLiteral("01")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(PeekProtocol(HexLiteral("0301")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(PeekProtocol(HexLiteral("0102")), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::wire
