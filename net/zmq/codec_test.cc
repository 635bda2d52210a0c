// Pure pieces of net/zmq: envelope framing, error bodies, CURVE key derivation, token bucket,
// SharedBytes and endpoint validation.
#include "common/hex.h"
#include "gtest/gtest.h"
#include "net/zmq/bulk.h"
#include "net/zmq/curve.h"
#include "net/zmq/envelope.h"
#include "net/zmq/shared_bytes.h"
#include "net/zmq/token_bucket.h"
#include "net/zmq/transport.h"
#include "tests/testing/status_matchers.h"

namespace gnr::net_zmq {
namespace {

TEST(Envelope, GoldenBytesAndRoundTrip) {
  FixedBytes<kEnvelopeSize> bytes = EncodeEnvelope({FrameKind::kReply, 0x0102030405060708});
  EXPECT_EQ(HexEncode(bytes), "01020102030405060708");
  ASSERT_OK_AND_ASSIGN(Envelope envelope, DecodeEnvelope(bytes));
  EXPECT_EQ(envelope.kind, FrameKind::kReply);
  EXPECT_EQ(envelope.request_id, 0x0102030405060708u);
}

TEST(Envelope, RejectsMalformed) {
  EXPECT_STATUS(DecodeEnvelope(HexLiteral("")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeEnvelope(HexLiteral("010100000000000000")),  // 9 bytes
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeEnvelope(HexLiteral("0101000000000000000000")),  // 11 bytes
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeEnvelope(HexLiteral("02010000000000000001")),  // version 2
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeEnvelope(HexLiteral("01000000000000000001")),  // kind 0
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeEnvelope(HexLiteral("01050000000000000001")),  // kind 5 (bulk only)
                absl::StatusCode::kInvalidArgument);
  absl::Status status = DecodeEnvelope(HexLiteral("0101")).status();
  EXPECT_EQ(status.message(), "envelope must be 10 bytes, got 2");
}

TEST(ErrorBody, RoundTripAndHostileInput) {
  Bytes body = EncodeErrorBody(absl::NotFoundError("no such shard"));
  EXPECT_EQ(body[0], static_cast<uint8_t>(absl::StatusCode::kNotFound));
  absl::Status status = DecodeErrorBody(body, "tcp://1.2.3.4:5");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "tcp://1.2.3.4:5: no such shard");

  EXPECT_EQ(DecodeErrorBody({}, "p").code(), absl::StatusCode::kInternal);
  EXPECT_EQ(DecodeErrorBody(HexLiteral("00"), "p").code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(DecodeErrorBody(HexLiteral("ff41"), "p").code(), absl::StatusCode::kUnknown);
  // An OK status is never sent as an error.
  EXPECT_EQ(EncodeErrorBody(absl::OkStatus())[0],
            static_cast<uint8_t>(absl::StatusCode::kInternal));
  // Long messages are truncated on both sides.
  Bytes huge(1 + 5000, 'x');
  huge[0] = 3;
  EXPECT_LE(DecodeErrorBody(huge, "p").message().size(), kMaxErrorMessageSize + 3);
  EXPECT_LE(EncodeErrorBody(absl::InternalError(std::string(5000, 'y'))).size(),
            kMaxErrorMessageSize + 1);
}

TEST(Curve, Rfc7748PublicKeyDerivation) {
  // RFC 7748 section 6.1: Alice's key pair.
  ASSERT_OK_AND_ASSIGN(CurveKeyPair pair,
                       CurveKeyPairFromSecret(*HexDecodeFixed<32>(
                           "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")));
  EXPECT_EQ(HexEncode(pair.public_key),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(ShortKey(pair.public_key), "8520f009");
}

TEST(Curve, GeneratedPairsAreDistinctAndDeterministicPerSeed) {
  crypto::DeterministicRandom a(1), b(1), c(2);
  ASSERT_OK_AND_ASSIGN(CurveKeyPair pa, GenerateCurveKeyPair(a));
  ASSERT_OK_AND_ASSIGN(CurveKeyPair pb, GenerateCurveKeyPair(b));
  ASSERT_OK_AND_ASSIGN(CurveKeyPair pc, GenerateCurveKeyPair(c));
  EXPECT_EQ(pa.public_key, pb.public_key);
  EXPECT_NE(pa.public_key, pc.public_key);
  EXPECT_NE(pa.public_key, pa.secret_key);
}

TEST(TokenBucket, BurstThenRate) {
  absl::Time t0 = absl::FromUnixSeconds(1000);
  TokenBucket bucket(/*rate=*/10, /*burst=*/3, t0);
  EXPECT_TRUE(bucket.TryTake(t0));
  EXPECT_TRUE(bucket.TryTake(t0));
  EXPECT_TRUE(bucket.TryTake(t0));
  EXPECT_FALSE(bucket.TryTake(t0));
  EXPECT_FALSE(bucket.TryTake(t0 + absl::Milliseconds(50)));  // half a token
  EXPECT_TRUE(bucket.TryTake(t0 + absl::Milliseconds(101)));
  EXPECT_FALSE(bucket.TryTake(t0 + absl::Milliseconds(101)));
  EXPECT_FALSE(bucket.TryTake(t0 - absl::Seconds(100)));  // time going back adds nothing
  EXPECT_FALSE(bucket.Full(t0 + absl::Milliseconds(200)));
  EXPECT_TRUE(bucket.Full(t0 + absl::Seconds(10)));
  EXPECT_TRUE(bucket.TryTake(t0 + absl::Seconds(10)));
}

TEST(SharedBytes, SharesWithoutCopying) {
  Bytes data = {1, 2, 3, 4, 5};
  const uint8_t* address = data.data();
  SharedBytes shared(std::move(data));
  EXPECT_EQ(shared.data(), address);  // moved, not copied
  EXPECT_EQ(shared.size(), 5u);
  SharedBytes middle = shared.Subrange(1, 3);
  EXPECT_EQ(middle.data(), address + 1);
  EXPECT_EQ(middle.ToBytes(), (Bytes{2, 3, 4}));
  EXPECT_EQ(shared.Subrange(4, 100).size(), 1u);
  EXPECT_TRUE(shared.Subrange(9, 1).empty());
  EXPECT_EQ(middle.owner(), shared.owner());

  auto buffer = std::make_shared<const Bytes>(Bytes{7, 8});
  std::weak_ptr<const Bytes> weak = buffer;
  {
    SharedBytes from_shared(std::move(buffer));
    EXPECT_EQ(from_shared.view()[1], 8);
    EXPECT_FALSE(weak.expired());
  }
  EXPECT_TRUE(weak.expired());
  EXPECT_TRUE(SharedBytes(std::shared_ptr<const Bytes>()).empty());
  EXPECT_EQ(SharedBytes::Copy(AsBytes("hi")).ToBytes(), ToBytes("hi"));
}

TEST(ValidatePeerEndpoint, AcceptsTcpHostPort) {
  EXPECT_OK(ValidatePeerEndpoint("tcp://127.0.0.1:4040"));
  EXPECT_OK(ValidatePeerEndpoint("tcp://farmer-7.example.org:1"));
  EXPECT_OK(ValidatePeerEndpoint("tcp://[::1]:65535"));
}

TEST(ValidatePeerEndpoint, RefusesEverythingElse) {
  for (const char* endpoint :
       {"", "tcp://", "tcp://host", "tcp://host:", "tcp://:80", "tcp://host:0", "tcp://host:65536",
        "tcp://host:8o", "tcp://*:80", "tcp://10.0.0.1;10.0.0.2:80", "ipc:///tmp/x",
        "inproc://zeromq.zap.01", "udp://1.2.3.4:5", "TCP://1.2.3.4:5", "tcp://[::1:80",
        "tcp://[zz]:80", "tcp://a b:80"}) {
    SCOPED_TRACE(endpoint);
    EXPECT_STATUS(ValidatePeerEndpoint(endpoint), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_STATUS(ValidatePeerEndpoint("tcp://" + std::string(300, 'a') + ":80"),
                absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::net_zmq

namespace gnr::net_zmq {
namespace {

TEST(BulkEnvelope, GoldenRoundTripAndHostileInput) {
  BulkEnvelope e{FrameKind::kError, {}, 0x0102030405060708};
  for (size_t i = 0; i < e.session.size(); ++i) e.session[i] = static_cast<uint8_t>(0xa0 + i);
  FixedBytes<kBulkEnvelopeSize> bytes = EncodeBulkEnvelope(e);
  EXPECT_EQ(HexEncode(bytes), "0103a0a1a2a3a4a5a6a7a8a9aaabacadaeaf0102030405060708");
  ASSERT_OK_AND_ASSIGN(BulkEnvelope back, DecodeBulkEnvelope(bytes));
  EXPECT_EQ(back.kind, FrameKind::kError);
  EXPECT_EQ(back.session, e.session);
  EXPECT_EQ(back.request_id, e.request_id);

  Bytes bad(bytes.begin(), bytes.end());
  bad[1] = static_cast<uint8_t>(FrameKind::kBulkHello);  // a CURVE-only kind
  EXPECT_STATUS(DecodeBulkEnvelope(bad), absl::StatusCode::kInvalidArgument);
  bad[1] = 0;
  EXPECT_STATUS(DecodeBulkEnvelope(bad), absl::StatusCode::kInvalidArgument);
  bad[1] = 1;
  bad[0] = 2;
  EXPECT_STATUS(DecodeBulkEnvelope(bad), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeBulkEnvelope(ByteView(bytes).first(25)), absl::StatusCode::kInvalidArgument);
  bad[0] = 1;
  bad[1] = static_cast<uint8_t>(FrameKind::kBulkUnknownSession);
  EXPECT_OK(DecodeBulkEnvelope(bad));
}

TEST(BulkFrame, SealedHeadersAuthenticateEverythingButThePayloadBytes) {
  BulkKey key{};
  key[0] = 7;
  FixedBytes<kBulkEnvelopeSize> envelope = EncodeBulkEnvelope({FrameKind::kRequest, {}, 42});
  Bytes sealed = SealBulkFrame(key, BulkDirection::kRequest, envelope, 42, 1000, AsBytes("hdr"));
  EXPECT_EQ(sealed.size(), 3u + 16u);
  ASSERT_OK_AND_ASSIGN(Bytes open,
                       OpenBulkFrame(key, BulkDirection::kRequest, envelope, 42, 1000, sealed));
  EXPECT_EQ(open, ToBytes("hdr"));
  // Another direction, id, payload size, envelope, key or a flipped bit: refused.
  EXPECT_STATUS(OpenBulkFrame(key, BulkDirection::kReply, envelope, 42, 1000, sealed),
                absl::StatusCode::kDataLoss);
  EXPECT_STATUS(OpenBulkFrame(key, BulkDirection::kRequest, envelope, 43, 1000, sealed),
                absl::StatusCode::kDataLoss);
  EXPECT_STATUS(OpenBulkFrame(key, BulkDirection::kRequest, envelope, 42, 999, sealed),
                absl::StatusCode::kDataLoss);
  FixedBytes<kBulkEnvelopeSize> other = EncodeBulkEnvelope({FrameKind::kReply, {}, 42});
  EXPECT_STATUS(OpenBulkFrame(key, BulkDirection::kRequest, other, 42, 1000, sealed),
                absl::StatusCode::kDataLoss);
  BulkKey wrong = key;
  wrong[31] ^= 1;
  EXPECT_STATUS(OpenBulkFrame(wrong, BulkDirection::kRequest, envelope, 42, 1000, sealed),
                absl::StatusCode::kDataLoss);
  sealed[0] ^= 1;
  EXPECT_STATUS(OpenBulkFrame(key, BulkDirection::kRequest, envelope, 42, 1000, sealed),
                absl::StatusCode::kDataLoss);
  EXPECT_STATUS(OpenBulkFrame(key, BulkDirection::kRequest, envelope, 42, 1000, Bytes(5)),
                absl::StatusCode::kDataLoss);
}

TEST(BulkOffer, RoundTripAndHostileInput) {
  BulkOffer offer;
  offer.session[0] = 1;
  offer.key[31] = 2;
  offer.port = 40001;
  FixedBytes<kBulkOfferSize> bytes = EncodeBulkOffer(offer);
  EXPECT_EQ(bytes[0], 1);
  EXPECT_EQ(bytes[kBulkOfferSize - 2], 40001 >> 8);
  ASSERT_OK_AND_ASSIGN(BulkOffer back, DecodeBulkOffer(bytes));
  EXPECT_EQ(back.session, offer.session);
  EXPECT_EQ(back.key, offer.key);
  EXPECT_EQ(back.port, 40001);
  Bytes bad(bytes.begin(), bytes.end());
  bad[kBulkOfferSize - 2] = bad[kBulkOfferSize - 1] = 0;
  EXPECT_STATUS(DecodeBulkOffer(bad), absl::StatusCode::kInvalidArgument);  // port 0
  EXPECT_STATUS(DecodeBulkOffer(ByteView(bytes).first(50)), absl::StatusCode::kInvalidArgument);
  bad = Bytes(bytes.begin(), bytes.end());
  bad[0] = 9;
  EXPECT_STATUS(DecodeBulkOffer(bad), absl::StatusCode::kInvalidArgument);

  ASSERT_OK_AND_ASSIGN(std::string e, EndpointWithPort("tcp://10.0.0.7:4040", 4041));
  EXPECT_EQ(e, "tcp://10.0.0.7:4041");
  ASSERT_OK_AND_ASSIGN(e, EndpointWithPort("tcp://[::1]:4040", 9));
  EXPECT_EQ(e, "tcp://[::1]:9");
  EXPECT_STATUS(EndpointWithPort("nothing", 1), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::net_zmq
