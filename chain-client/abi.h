#pragma once
// The Solidity contract ABI (docs.soliditylang.org, "Contract ABI Specification"): types,
// values, encoding and decoding of call data, return data, event logs and revert data.
//
// Supported types: uint<M>, int<M> (M = 8..256, step 8), address, bool, bytes<M> (1..32),
// bytes, string, T[] and T[k] of any supported type, and tuples (T1,...,Tn). Fixed-point
// and function types are not supported (the StorageMarket contract uses neither).
//
// Decoding is for untrusted bytes (eth_call results, logs and revert data from any RPC): it
// never asserts, bounds every offset and length by the input, rejects non-canonical padding
// (Solidity's own decoder reverts on it too) and caps the total decoded size so that aliased
// offsets cannot blow up memory.
//
// Everything here is a value type; const methods are thread-safe.
//
//   GNR_ASSIGN_OR_RETURN(AbiFunction f, AbiFunction::Parse("baz(uint32,bool)"));
//   GNR_ASSIGN_OR_RETURN(Bytes call, f.EncodeCall({AbiValue::Uint(69), AbiValue::Bool(true)}));
//   GNR_ASSIGN_OR_RETURN(AbiContract market, AbiContract::FromJson(kStorageMarketAbi));
//   const AbiFunction* stake = market.FindFunction("stake");

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/u256.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"

namespace gnr::chain {

using crypto::EthAddress;
using crypto::Hash256;

// ---- Types ----------------------------------------------------------------------------------

class AbiType {
 public:
  enum class Kind {
    kUint,  // bits()
    kInt,   // bits()
    kAddress,
    kBool,
    kFixedBytes,  // size() bytes, 1..32
    kBytes,
    kString,
    kArray,       // element(), dynamic length
    kFixedArray,  // element(), size() elements
    kTuple,       // components()
  };

  // Parses a canonical type string: "uint256", "bytes20[]", "(uint256,bool)[2]", "uint"
  // (alias of uint256), "int", "byte" (bytes1). InvalidArgument naming the bad part.
  static absl::StatusOr<AbiType> Parse(std::string_view text);

  static AbiType Uint(int bits = 256) { return AbiType(Kind::kUint, bits, 0); }
  static AbiType Int(int bits = 256) { return AbiType(Kind::kInt, bits, 0); }
  static AbiType Address() { return AbiType(Kind::kAddress, 0, 0); }
  static AbiType Bool() { return AbiType(Kind::kBool, 0, 0); }
  static AbiType FixedBytes(size_t size) { return AbiType(Kind::kFixedBytes, 0, size); }
  static AbiType Bytes() { return AbiType(Kind::kBytes, 0, 0); }
  static AbiType String() { return AbiType(Kind::kString, 0, 0); }
  static AbiType Array(AbiType element);
  static AbiType FixedArray(AbiType element, size_t length);
  static AbiType Tuple(std::vector<AbiType> components);

  Kind kind() const { return kind_; }
  int bits() const { return bits_; }
  size_t size() const { return size_; }
  const AbiType& element() const { return components_[0]; }
  const std::vector<AbiType>& components() const { return components_; }

  // The canonical name used in signatures: "uint256", "bytes20[]", "(uint256,bool)".
  std::string CanonicalName() const;
  // Dynamic types are encoded out of line (bytes, string, T[], and anything containing one).
  bool IsDynamic() const;
  // Bytes this type occupies in the head of an enclosing tuple (32 for dynamic types).
  size_t HeadSize() const;

  friend bool operator==(const AbiType&, const AbiType&) = default;

 private:
  AbiType(Kind kind, int bits, size_t size) : kind_(kind), bits_(bits), size_(size) {}

  Kind kind_ = Kind::kBool;
  int bits_ = 0;
  size_t size_ = 0;
  std::vector<AbiType> components_;
};

// ---- Values ---------------------------------------------------------------------------------

// A value of some AbiType. Integers are stored as 256-bit words (int<M> in two's complement);
// address, bool and bytes<M> keep their natural form. Accessors return InvalidArgument when
// the value is of another kind, so decoded data can be read without asserting.
class AbiValue {
 public:
  enum class Kind { kUint, kInt, kAddress, kBool, kFixedBytes, kBytes, kString, kArray, kTuple };

  AbiValue() = default;
  static AbiValue Uint(const U256& v);
  // A signed integer given as its 256-bit two's-complement word.
  static AbiValue IntWord(const U256& twos_complement);
  static AbiValue Int(int64_t v);
  static AbiValue Address(const EthAddress& a);
  static AbiValue Bool(bool b);
  static AbiValue FixedBytes(ByteView b);  // 1..32 bytes; checked against the type on encode
  static AbiValue Bytes(ByteView b);
  static AbiValue String(std::string_view s);
  // Elements of T[] or T[k].
  static AbiValue Array(std::vector<AbiValue> elements);
  static AbiValue Tuple(std::vector<AbiValue> components);

  Kind kind() const { return kind_; }

  absl::StatusOr<U256> AsUint() const;        // kUint
  absl::StatusOr<uint64_t> AsUint64() const;  // kUint that fits in 64 bits
  absl::StatusOr<U256> AsIntWord() const;     // kInt, two's complement
  absl::StatusOr<int64_t> AsInt64() const;    // kInt that fits in int64
  absl::StatusOr<EthAddress> AsAddress() const;
  absl::StatusOr<bool> AsBool() const;
  absl::StatusOr<gnr::Bytes> AsBytes() const;  // kFixedBytes or kBytes
  template <size_t N>
  absl::StatusOr<gnr::FixedBytes<N>> AsFixedBytes() const;  // kFixedBytes of size N
  absl::StatusOr<std::string> AsString() const;
  absl::StatusOr<std::span<const AbiValue>> AsArray() const;  // kArray
  absl::StatusOr<std::span<const AbiValue>> AsTuple() const;  // kTuple

  // A short human-readable rendering for logs and CLI output ("69", "0xAbC…", "[1,2]").
  std::string DebugString() const;

  friend bool operator==(const AbiValue&, const AbiValue&) = default;

 private:
  absl::Status KindError(std::string_view wanted) const;

  Kind kind_ = Kind::kUint;
  U256 word_;                    // kUint, kInt, kBool (0/1)
  gnr::Bytes bytes_;             // kAddress (20), kFixedBytes, kBytes, kString
  std::vector<AbiValue> items_;  // kArray, kTuple
};

// Encodes `values` as the tuple (types...). InvalidArgument when a value does not match its
// type (kind, integer range, bytes<M> size, fixed array length), naming the position.
absl::StatusOr<Bytes> AbiEncode(std::span<const AbiType> types, std::span<const AbiValue> values);

// Decodes `data` as the tuple (types...). Trailing bytes after the last referenced data are
// tolerated (as Solidity does). InvalidArgument on anything malformed: offsets or lengths
// out of bounds, non-zero padding, a bool other than 0/1, an out-of-range integer, or more
// decoded data than the input can canonically hold.
absl::StatusOr<std::vector<AbiValue>> AbiDecode(std::span<const AbiType> types, ByteView data);

// ---- Functions, events, errors --------------------------------------------------------------

struct AbiParam {
  std::string name;
  AbiType type = AbiType::Bool();
  bool indexed = false;  // events only
};

// "name(type1,type2)" from params.
std::string AbiSignature(std::string_view name, std::span<const AbiParam> params);

struct AbiFunction {
  std::string name;
  std::vector<AbiParam> inputs;
  std::vector<AbiParam> outputs;
  std::string state_mutability;  // "view", "pure", "nonpayable", "payable" (from JSON)

  // Parses a signature "name(type1,type2)" (inputs only; unnamed). InvalidArgument if bad.
  static absl::StatusOr<AbiFunction> Parse(std::string_view signature);

  std::string Signature() const { return AbiSignature(name, inputs); }
  // keccak256(Signature())[0:4].
  FixedBytes<4> Selector() const;
  // Selector || AbiEncode(inputs, args).
  absl::StatusOr<Bytes> EncodeCall(std::span<const AbiValue> args) const;
  // Decodes call data produced by EncodeCall (checks the selector).
  absl::StatusOr<std::vector<AbiValue>> DecodeCall(ByteView call_data) const;
  absl::StatusOr<std::vector<AbiValue>> DecodeOutput(ByteView return_data) const;
  bool is_view() const { return state_mutability == "view" || state_mutability == "pure"; }
};

// One log entry as it appears in receipts and eth_getLogs.
struct LogEntry {
  EthAddress address{};
  std::vector<Hash256> topics;
  Bytes data;
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

struct AbiEvent {
  std::string name;
  std::vector<AbiParam> params;  // in declaration order; `indexed` marks topic params
  bool anonymous = false;

  std::string Signature() const { return AbiSignature(name, params); }
  // keccak256(Signature()), the first topic of non-anonymous events.
  Hash256 Topic0() const;
  // Decodes the log's values in declaration order. Indexed params of dynamic type (string,
  // bytes, arrays, tuples) are stored in topics as a hash, so they decode to a bytes32
  // AbiValue::FixedBytes holding that hash. InvalidArgument if the topic count or topic0
  // do not match or the data is malformed.
  absl::StatusOr<std::vector<AbiValue>> DecodeLog(std::span<const Hash256> topics,
                                                  ByteView data) const;
  absl::StatusOr<std::vector<AbiValue>> DecodeLog(const LogEntry& log) const {
    return DecodeLog(log.topics, log.data);
  }
  // The index of the param called `name`, or nullopt.
  std::optional<size_t> ParamIndex(std::string_view param_name) const;
};

// A custom error ("error BucketExpired(bytes32 id)").
struct AbiError {
  std::string name;
  std::vector<AbiParam> inputs;
  std::string Signature() const { return AbiSignature(name, inputs); }
  FixedBytes<4> Selector() const;
};

// Turns revert data into a message for people:
//   Error(string)    -> "execution reverted: <reason>"
//   Panic(uint256)   -> "execution reverted: panic 0x11 (arithmetic overflow or underflow)"
//   empty            -> "execution reverted (no reason given)"
//   a custom error listed in `errors` -> "execution reverted: Name(arg1, arg2)"
//   anything else    -> "execution reverted with unrecognized data 0x..."
std::string DecodeRevertReason(ByteView revert_data, std::span<const AbiError> errors = {});

// A contract's ABI, read from solc's JSON ABI output. Immutable after creation.
class AbiContract {
 public:
  // Parses the JSON array solc emits (entries of type function, event, error, constructor,
  // fallback, receive). InvalidArgument on malformed JSON naming the entry and field.
  static absl::StatusOr<AbiContract> FromJson(std::string_view json);

  // nullptr when absent. Overloaded functions: the first with that name (use the signature
  // "name(types)" to pick one).
  const AbiFunction* FindFunction(std::string_view name_or_signature) const;
  const AbiEvent* FindEvent(std::string_view name) const;
  const AbiEvent* FindEventByTopic(const Hash256& topic0) const;
  const std::vector<AbiFunction>& functions() const { return functions_; }
  const std::vector<AbiEvent>& events() const { return events_; }
  const std::vector<AbiError>& errors() const { return errors_; }
  const std::vector<AbiParam>& constructor_inputs() const { return constructor_inputs_; }

  std::string DecodeRevert(ByteView revert_data) const {
    return DecodeRevertReason(revert_data, errors_);
  }

 private:
  std::vector<AbiFunction> functions_;
  std::vector<AbiEvent> events_;
  std::vector<AbiError> errors_;
  std::vector<AbiParam> constructor_inputs_;
};

// ---- Template definitions -------------------------------------------------------------------

template <size_t N>
absl::StatusOr<gnr::FixedBytes<N>> AbiValue::AsFixedBytes() const {
  if (kind_ != Kind::kFixedBytes || bytes_.size() != N) {
    return KindError("bytes" + std::to_string(N));
  }
  gnr::FixedBytes<N> out;
  std::copy(bytes_.begin(), bytes_.end(), out.begin());
  return out;
}

}  // namespace gnr::chain
