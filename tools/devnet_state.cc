#include "tools/devnet_state.h"

#include <algorithm>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Typed reads of optional members: a missing member keeps *out; a member of another type is
// InvalidArgument naming `path`.
class Reader {
 public:
  Reader(const Json& object, std::string path) : object_(&object), path_(std::move(path)) {}

  absl::Status String(const char* key, std::string* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_string()) return Wrong(key, "a string");
    *out = v->get<std::string>();
    return absl::OkStatus();
  }
  absl::Status Bool(const char* key, bool* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_boolean()) return Wrong(key, "true or false");
    *out = v->get<bool>();
    return absl::OkStatus();
  }
  absl::Status Unsigned(const char* key, uint64_t* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_number_unsigned()) return Wrong(key, "a whole number >= 0");
    *out = v->get<uint64_t>();
    return absl::OkStatus();
  }
  absl::Status Int(const char* key, int64_t* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_number_integer()) return Wrong(key, "a whole number");
    *out = v->get<int64_t>();
    return absl::OkStatus();
  }
  // A small non-negative int (pids, ports, shard counts).
  absl::Status SmallInt(const char* key, int* out, int64_t max) const {
    int64_t v = *out;
    GNR_RETURN_IF_ERROR(Int(key, &v));
    if (v < 0 || v > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("devnet state: ", path_, ".", key, " must be in 0..", max, ", got ", v));
    }
    *out = static_cast<int>(v);
    return absl::OkStatus();
  }
  // The member `key` as an object reader; a missing member reads as an empty object.
  absl::StatusOr<Reader> Object(const char* key) const {
    const Json* v = Find(key);
    if (v == nullptr) return Reader(Empty(), Child(key));
    if (!v->is_object()) return Wrong(key, "an object");
    return Reader(*v, Child(key));
  }
  const Json* Find(const char* key) const {
    auto it = object_->find(key);
    return it == object_->end() || it->is_null() ? nullptr : &*it;
  }
  std::string Child(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  absl::Status Wrong(const char* key, const char* what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("devnet state: ", Child(key), " must be ", what));
  }

 private:
  static const Json& Empty() {
    static const Json* empty = new Json(Json::object());
    return *empty;
  }
  const Json* object_;
  std::string path_;
};

constexpr int64_t kMaxPid = 1 << 22;  // PID_MAX_LIMIT on 64-bit Linux

absl::Status ReadProcess(const Reader& parent, DevnetProcess* p) {
  // The process fields sit in the part's own object (flat), not in a nested one.
  GNR_RETURN_IF_ERROR(parent.SmallInt("pid", &p->pid, kMaxPid));
  GNR_RETURN_IF_ERROR(parent.Unsigned("start_ticks", &p->start_ticks));
  return parent.String("log", &p->log);
}

void WriteProcess(const DevnetProcess& p, OrderedJson& j) {
  j["pid"] = p.pid;
  j["start_ticks"] = p.start_ticks;
  j["log"] = p.log;
}

absl::Status ReadWallet(const Reader& r, DevnetWallet* w) {
  GNR_RETURN_IF_ERROR(r.String("address", &w->address));
  GNR_RETURN_IF_ERROR(r.String("keystore", &w->keystore));
  return r.String("password_file", &w->password_file);
}

}  // namespace

std::string DevnetFarmer::BootstrapSeed() const {
  if (endpoint.empty() || curve_public_key.empty()) return "";
  return absl::StrCat(endpoint, "#", curve_public_key);
}

std::pair<int, int> DevnetShardCounts(int farmers) {
  int k = std::max(1, std::min(4, farmers - 2));
  int m = std::max(1, std::min(2, farmers - k));
  return {k, m};
}

bool MountRefusedNetworkFlags(int exit_code, std::string_view output) {
  if (exit_code == 0) return false;
  for (const char* flag : {"--rpc", "--contract", "--keystore", "--password-file", "--bucket",
                           "--bootstrap", "--data-shards", "--parity-shards"}) {
    if (output.find(absl::StrCat("unknown argument '", flag, "'")) != std::string_view::npos) {
      return true;
    }
  }
  return output.find("no shard network configured") != std::string_view::npos;
}

int EndpointPort(std::string_view endpoint) {
  size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return 0;
  int port = 0;
  if (!absl::SimpleAtoi(AbslView(endpoint.substr(colon + 1)), &port) || port < 0 || port > 65535) {
    return 0;
  }
  return port;
}

absl::StatusOr<DevnetState> ParseDevnetState(std::string_view json_text) {
  Json root = Json::parse(json_text.begin(), json_text.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("devnet state: not valid JSON");
  if (!root.is_object()) return absl::InvalidArgumentError("devnet state: not a JSON object");
  Reader r(root, "");
  int version = DevnetState::kVersion;
  GNR_RETURN_IF_ERROR(r.SmallInt("version", &version, 1000));
  if (version != DevnetState::kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("devnet state: version ", version,
                                                   " is not supported (this gnr reads ",
                                                   DevnetState::kVersion, ")"));
  }
  DevnetState s;
  GNR_RETURN_IF_ERROR(r.String("state_dir", &s.state_dir));

  GNR_ASSIGN_OR_RETURN(Reader chain, r.Object("chain"));
  GNR_RETURN_IF_ERROR(chain.String("rpc_url", &s.chain.rpc_url));
  GNR_RETURN_IF_ERROR(chain.SmallInt("port", &s.chain.port, 65535));
  GNR_RETURN_IF_ERROR(chain.Unsigned("chain_id", &s.chain.chain_id));
  GNR_RETURN_IF_ERROR(chain.String("state_file", &s.chain.state_file));
  GNR_RETURN_IF_ERROR(chain.String("binary", &s.chain.binary));
  GNR_RETURN_IF_ERROR(ReadProcess(chain, &s.chain.process));

  GNR_RETURN_IF_ERROR(r.String("contract", &s.contract));
  GNR_RETURN_IF_ERROR(r.String("operator", &s.operator_address));
  GNR_ASSIGN_OR_RETURN(Reader wallet, r.Object("wallet"));
  GNR_RETURN_IF_ERROR(ReadWallet(wallet, &s.wallet));

  GNR_ASSIGN_OR_RETURN(Reader bucket, r.Object("bucket"));
  GNR_RETURN_IF_ERROR(bucket.String("id", &s.bucket.id));
  GNR_RETURN_IF_ERROR(bucket.Unsigned("size_gb", &s.bucket.size_gb));
  GNR_RETURN_IF_ERROR(bucket.Unsigned("days", &s.bucket.days));
  GNR_RETURN_IF_ERROR(bucket.Unsigned("backup", &s.bucket.backup));
  GNR_RETURN_IF_ERROR(r.Unsigned("traffic_gb", &s.traffic_gb));

  if (const Json* farmers = r.Find("farmers"); farmers != nullptr) {
    if (!farmers->is_array()) return r.Wrong("farmers", "an array");
    for (size_t i = 0; i < farmers->size(); ++i) {
      const Json& item = (*farmers)[i];
      std::string path = absl::StrCat("farmers[", i, "]");
      if (!item.is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat("devnet state: ", path, " must be an object"));
      }
      Reader fr(item, path);
      DevnetFarmer f;
      GNR_RETURN_IF_ERROR(fr.String("name", &f.name));
      GNR_RETURN_IF_ERROR(fr.String("data_dir", &f.data_dir));
      GNR_RETURN_IF_ERROR(fr.String("listen", &f.listen));
      GNR_RETURN_IF_ERROR(fr.String("endpoint", &f.endpoint));
      GNR_RETURN_IF_ERROR(fr.String("node_id", &f.node_id));
      GNR_RETURN_IF_ERROR(fr.String("curve_public_key", &f.curve_public_key));
      GNR_RETURN_IF_ERROR(fr.String("capacity", &f.capacity));
      GNR_RETURN_IF_ERROR(fr.Bool("bound", &f.bound));
      GNR_ASSIGN_OR_RETURN(Reader staker, fr.Object("staker"));
      GNR_RETURN_IF_ERROR(ReadWallet(staker, &f.staker));
      GNR_RETURN_IF_ERROR(ReadProcess(fr, &f.process));
      if (f.data_dir.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("devnet state: ", path, ".data_dir is missing"));
      }
      s.farmers.push_back(std::move(f));
    }
  }

  GNR_ASSIGN_OR_RETURN(Reader mount, r.Object("mount"));
  GNR_RETURN_IF_ERROR(mount.String("mountpoint", &s.mount.mountpoint));
  GNR_RETURN_IF_ERROR(mount.String("state_dir", &s.mount.state_dir));
  GNR_RETURN_IF_ERROR(mount.SmallInt("data_shards", &s.mount.data_shards, 255));
  GNR_RETURN_IF_ERROR(mount.SmallInt("parity_shards", &s.mount.parity_shards, 255));
  GNR_RETURN_IF_ERROR(mount.Bool("mounted", &s.mount.mounted));
  GNR_RETURN_IF_ERROR(mount.String("error", &s.mount.error));
  GNR_RETURN_IF_ERROR(ReadProcess(mount, &s.mount.process));
  GNR_RETURN_IF_ERROR(r.Int("updated_unix", &s.updated_unix));
  return s;
}

nlohmann::ordered_json DevnetStateToJson(const DevnetState& s) {
  OrderedJson j;
  j["version"] = DevnetState::kVersion;
  j["state_dir"] = s.state_dir;
  OrderedJson chain{{"rpc_url", s.chain.rpc_url},
                    {"port", s.chain.port},
                    {"chain_id", s.chain.chain_id},
                    {"state_file", s.chain.state_file},
                    {"binary", s.chain.binary}};
  WriteProcess(s.chain.process, chain);
  j["chain"] = std::move(chain);
  j["contract"] = s.contract;
  j["operator"] = s.operator_address;
  j["wallet"] = OrderedJson{{"address", s.wallet.address},
                            {"keystore", s.wallet.keystore},
                            {"password_file", s.wallet.password_file}};
  j["bucket"] = OrderedJson{{"id", s.bucket.id},
                            {"size_gb", s.bucket.size_gb},
                            {"days", s.bucket.days},
                            {"backup", s.bucket.backup}};
  j["traffic_gb"] = s.traffic_gb;
  OrderedJson farmers = OrderedJson::array();
  for (const DevnetFarmer& f : s.farmers) {
    OrderedJson fj{{"name", f.name},
                   {"data_dir", f.data_dir},
                   {"listen", f.listen},
                   {"endpoint", f.endpoint},
                   {"node_id", f.node_id},
                   {"curve_public_key", f.curve_public_key},
                   {"staker",
                    {{"address", f.staker.address},
                     {"keystore", f.staker.keystore},
                     {"password_file", f.staker.password_file}}},
                   {"capacity", f.capacity},
                   {"bound", f.bound}};
    WriteProcess(f.process, fj);
    farmers.push_back(std::move(fj));
  }
  j["farmers"] = std::move(farmers);
  OrderedJson mount{{"mountpoint", s.mount.mountpoint},   {"state_dir", s.mount.state_dir},
                    {"data_shards", s.mount.data_shards}, {"parity_shards", s.mount.parity_shards},
                    {"mounted", s.mount.mounted},         {"error", s.mount.error}};
  WriteProcess(s.mount.process, mount);
  j["mount"] = std::move(mount);
  j["updated_unix"] = s.updated_unix;
  return j;
}

}  // namespace gnr::tools
