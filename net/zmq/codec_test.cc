// Pure pieces of net/zmq: envelope framing, error bodies, CURVE key derivation, token bucket,
// SharedBytes and endpoint validation.
#include "common/hex.h"
#include "gtest/gtest.h"
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
  EXPECT_STATUS(DecodeEnvelope(HexLiteral("01040000000000000001")),  // kind 4
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
