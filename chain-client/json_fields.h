#pragma once
// Typed reads of fields from untrusted JSON-RPC objects, with errors that name the field.
//
// Ethereum JSON-RPC encodes numbers as QUANTITY ("0x1a", no leading zeros) and byte strings
// as DATA ("0x" + an even number of hex digits). Every function here returns a Status for a
// missing field, a wrong JSON type, bad hex or a wrong size — never throws.
//
//   GNR_ASSIGN_OR_RETURN(uint64_t number, JsonQuantityU64(block, "number"));
//   GNR_ASSIGN_OR_RETURN(auto base_fee, JsonOptionalQuantity(block, "baseFeePerGas"));

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chain-client/u256.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace gnr::chain {

using Json = nlohmann::json;

// The member `field` of `obj`; InvalidArgument if `obj` is not an object or lacks it.
// (A JSON null counts as present; the typed readers below reject it.)
absl::StatusOr<const Json*> JsonMember(const Json& obj, std::string_view field);

// Parses a QUANTITY value (not a field). `what` names it in errors.
absl::StatusOr<U256> ParseQuantity(const Json& value, std::string_view what);
absl::StatusOr<uint64_t> ParseQuantityU64(const Json& value, std::string_view what);
// Parses a DATA value (not a field).
absl::StatusOr<Bytes> ParseData(const Json& value, std::string_view what);
template <size_t N>
absl::StatusOr<FixedBytes<N>> ParseFixedData(const Json& value, std::string_view what);

absl::StatusOr<U256> JsonQuantity(const Json& obj, std::string_view field);
absl::StatusOr<uint64_t> JsonQuantityU64(const Json& obj, std::string_view field);
absl::StatusOr<Bytes> JsonData(const Json& obj, std::string_view field);
template <size_t N>
absl::StatusOr<FixedBytes<N>> JsonFixedData(const Json& obj, std::string_view field) {
  absl::StatusOr<const Json*> v = JsonMember(obj, field);
  if (!v.ok()) return v.status();
  return ParseFixedData<N>(**v, field);
}

// Absent or null -> nullopt; present -> parsed (errors as above).
absl::StatusOr<std::optional<U256>> JsonOptionalQuantity(const Json& obj, std::string_view field);
absl::StatusOr<std::optional<uint64_t>> JsonOptionalQuantityU64(const Json& obj,
                                                                std::string_view field);
template <size_t N>
absl::StatusOr<std::optional<FixedBytes<N>>> JsonOptionalFixedData(const Json& obj,
                                                                   std::string_view field) {
  if (!obj.is_object()) return JsonMember(obj, field).status();
  auto it = obj.find(std::string(field));
  if (it == obj.end() || it->is_null()) return std::optional<FixedBytes<N>>();
  absl::StatusOr<FixedBytes<N>> v = ParseFixedData<N>(*it, field);
  if (!v.ok()) return v.status();
  return std::optional<FixedBytes<N>>(*v);
}

// A JSON string; InvalidArgument otherwise.
absl::StatusOr<std::string> JsonString(const Json& obj, std::string_view field);
// A JSON array; InvalidArgument otherwise.
absl::StatusOr<const Json*> JsonArray(const Json& obj, std::string_view field);

// A short description of a value for error messages: scalars as written (strings
// truncated), containers by kind only (never recursing into untrusted nesting).
std::string JsonBrief(const Json& value);

// Internal: the error for a DATA value of the wrong size.
absl::Status JsonSizeError(std::string_view what, size_t expected, size_t got);

template <size_t N>
absl::StatusOr<FixedBytes<N>> ParseFixedData(const Json& value, std::string_view what) {
  absl::StatusOr<Bytes> b = ParseData(value, what);
  if (!b.ok()) return b.status();
  if (b->size() != N) return JsonSizeError(what, N, b->size());
  FixedBytes<N> out;
  std::copy(b->begin(), b->end(), out.begin());
  return out;
}

}  // namespace gnr::chain
