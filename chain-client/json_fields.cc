#include "chain-client/json_fields.h"

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/strings.h"

namespace gnr::chain {

std::string JsonBrief(const Json& v) {
  // Never dump() untrusted containers: dump() recurses and deep nesting would exhaust the
  // stack. Scalars are safe.
  switch (v.type()) {
    case Json::value_t::object:
      return "a JSON object";
    case Json::value_t::array:
      return "a JSON array";
    case Json::value_t::string: {
      const std::string& str = v.get_ref<const std::string&>();
      std::string out = "\"";
      for (char c : str.substr(0, 60)) {
        unsigned char u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
      }
      return out + (str.size() > 60 ? "...\"" : "\"");
    }
    case Json::value_t::null:
      return "null";
    default:
      return v.dump(-1, ' ', false, Json::error_handler_t::replace);  // number or boolean
  }
}

namespace {

absl::Status FieldError(std::string_view what, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("field \"", AbslView(what), "\": ", AbslView(problem)));
}

}  // namespace

absl::StatusOr<const Json*> JsonMember(const Json& obj, std::string_view field) {
  if (!obj.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("expected a JSON object with field \"",
                                                   AbslView(field), "\", got ", JsonBrief(obj)));
  }
  auto it = obj.find(std::string(field));
  if (it == obj.end()) return FieldError(field, "missing");
  return &*it;
}

absl::StatusOr<U256> ParseQuantity(const Json& value, std::string_view what) {
  if (!value.is_string())
    return FieldError(what, absl::StrCat("expected a hex quantity, got ", JsonBrief(value)));
  absl::StatusOr<U256> v = U256::FromQuantity(value.get_ref<const std::string&>());
  if (!v.ok()) return FieldError(what, StdView(v.status().message()));
  return v;
}

absl::StatusOr<uint64_t> ParseQuantityU64(const Json& value, std::string_view what) {
  absl::StatusOr<U256> v = ParseQuantity(value, what);
  if (!v.ok()) return v.status();
  std::optional<uint64_t> small = v->ToUint64();
  if (!small) return FieldError(what, absl::StrCat(v->ToQuantity(), " does not fit in 64 bits"));
  return *small;
}

absl::StatusOr<Bytes> ParseData(const Json& value, std::string_view what) {
  if (!value.is_string())
    return FieldError(what, absl::StrCat("expected hex data, got ", JsonBrief(value)));
  const std::string& s = value.get_ref<const std::string&>();
  if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
    return FieldError(what, "hex data must start with 0x");
  }
  absl::StatusOr<Bytes> b = HexDecode(s);
  if (!b.ok()) return FieldError(what, StdView(b.status().message()));
  return b;
}

absl::Status JsonSizeError(std::string_view what, size_t expected, size_t got) {
  return FieldError(what, absl::StrCat("expected ", expected, " bytes, got ", got));
}

absl::StatusOr<U256> JsonQuantity(const Json& obj, std::string_view field) {
  absl::StatusOr<const Json*> v = JsonMember(obj, field);
  if (!v.ok()) return v.status();
  return ParseQuantity(**v, field);
}

absl::StatusOr<uint64_t> JsonQuantityU64(const Json& obj, std::string_view field) {
  absl::StatusOr<const Json*> v = JsonMember(obj, field);
  if (!v.ok()) return v.status();
  return ParseQuantityU64(**v, field);
}

absl::StatusOr<Bytes> JsonData(const Json& obj, std::string_view field) {
  absl::StatusOr<const Json*> v = JsonMember(obj, field);
  if (!v.ok()) return v.status();
  return ParseData(**v, field);
}

absl::StatusOr<std::optional<U256>> JsonOptionalQuantity(const Json& obj, std::string_view field) {
  if (!obj.is_object()) return JsonMember(obj, field).status();
  auto it = obj.find(std::string(field));
  if (it == obj.end() || it->is_null()) return std::optional<U256>();
  absl::StatusOr<U256> v = ParseQuantity(*it, field);
  if (!v.ok()) return v.status();
  return std::optional<U256>(*v);
}

absl::StatusOr<std::optional<uint64_t>> JsonOptionalQuantityU64(const Json& obj,
                                                                std::string_view field) {
  if (!obj.is_object()) return JsonMember(obj, field).status();
  auto it = obj.find(std::string(field));
  if (it == obj.end() || it->is_null()) return std::optional<uint64_t>();
  absl::StatusOr<uint64_t> v = ParseQuantityU64(*it, field);
  if (!v.ok()) return v.status();
  return std::optional<uint64_t>(*v);
}

absl::StatusOr<std::string> JsonString(const Json& obj, std::string_view field) {
  absl::StatusOr<const Json*> v = JsonMember(obj, field);
  if (!v.ok()) return v.status();
  if (!(*v)->is_string())
    return FieldError(field, absl::StrCat("expected a string, got ", JsonBrief(**v)));
  return (*v)->get<std::string>();
}

absl::StatusOr<const Json*> JsonArray(const Json& obj, std::string_view field) {
  absl::StatusOr<const Json*> v = JsonMember(obj, field);
  if (!v.ok()) return v.status();
  if (!(*v)->is_array())
    return FieldError(field, absl::StrCat("expected an array, got ", JsonBrief(**v)));
  return *v;
}

}  // namespace gnr::chain
