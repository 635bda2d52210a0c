#include "tools/audit_command.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "chain-client/beacon.h"
#include "chain-client/light_client.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/merkle.h"
#include "fs/audit/auditor.h"
#include "fs/audit/detection.h"
#include "fs/audit/explain.h"
#include "fs/audit/planner.h"
#include "fs/audit/repairer.h"
#include "fs/audit/shard_audit_network.h"
#include "fs/catalog/catalog.h"
#include "fs/codec/keys.h"
#include "fs/codec/manifest.h"
#include "nlohmann/json.hpp"
#include "tools/config.h"
#include "tools/drive_env.h"
#include "tools/exit_codes.h"
#include "tools/flags.h"
#include "tools/wallet_command.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kUsage[] =
    "Usage: gnr audit [--state DIR] [--json] [--limit N] [--file PATH]\n"
    "       gnr audit --explain VERDICT_ID [--state DIR] [--json]\n"
    "       gnr audit stats [--state DIR] [--json]\n"
    "       gnr audit --once [--state DIR] [--json] [drive flags]\n"
    "       (each form also takes --config FILE)\n"
    "\n"
    "Shows the SPoR audits of the drive whose catalog is in --state DIR (default drive.state\n"
    "of the configuration, else $XDG_DATA_HOME/gnr/volumes/default): every verdict records\n"
    "the block whose hash seeded the challenge, the shard, the farmer, the kind (sentinel\n"
    "group or Merkle leaf), the result (pass, fail, timeout, error) and the latency.\n"
    "\n"
    "  --limit N        newest N verdicts (default 50)\n"
    "  --file PATH      only verdicts of this file (a path inside the drive, e.g. /docs/a.txt)\n"
    "  --explain ID     recompute verdict ID from its block hash: start group\n"
    "                   H(blockHash||shard id) mod G, the group chosen, its positions and the\n"
    "                   expected sentinel values (needs the keys: the wallet, or the test-mode\n"
    "                   key in the state dir; without them the recorded positions are shown)\n"
    "  stats            per-farmer pass rates, and per file the probability that a farmer\n"
    "                   missing 1% of a shard would have been caught by the challenges so far\n"
    "  --once           one audit round on the real network now (latest confirmed block),\n"
    "                   then repairs of bad shards and re-tags of low-budget ones. Drive flags:\n"
    "                   --rpc URL, --contract ADDR,\n"
    "                   --bucket HEX, --bootstrap SEED (repeatable), --keystore PATH,\n"
    "                   --password-file PATH; what no flag gives comes from the environment\n"
    "                   ($GNR_RPC, $GNR_MARKET_CONTRACT, $GNR_BUCKET, $GNR_BOOTSTRAP, ...),\n"
    "                   then from config.toml ([chain] and [drive]), as for `gnr mount`\n"
    "  --config FILE    the configuration file (default $GNR_CONFIG, else\n"
    "                   ~/.config/gnr/config.toml)\n"
    "  --json           machine-readable output\n"
    "\n"
    "Exit codes: 0 ok, 64 usage, 66 no catalog / no such verdict, 69 network unavailable,\n"
    "78 bad configuration, 1 other failures.\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "gnr audit: %s\n(try `gnr audit --help`)\n", message.c_str());
  return kExitUsage;
}

int Fail(const absl::Status& s, int code = kExitFailure) {
  std::fprintf(stderr, "gnr audit: %s\n", std::string(StdView(s.message())).c_str());
  return code;
}

std::string DefaultState() {
  const char* xdg = getenv("XDG_DATA_HOME");
  if (xdg != nullptr && *xdg != '\0') return absl::StrCat(xdg, "/gnr/volumes/default");
  const char* home = getenv("HOME");
  return absl::StrCat(home != nullptr ? home : "/root", "/.local/share/gnr/volumes/default");
}

struct Args {
  std::string state;
  bool json = false;
  bool stats = false;
  bool once = false;
  size_t limit = 50;
  std::string file;
  std::optional<catalog::VerdictId> explain;
  DriveConfig drive;
};

std::string Hex(ByteView b) { return HexEncode(b); }

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<std::unique_ptr<catalog::Catalog>> OpenCatalog(const std::string& state) {
  catalog::Catalog::Options o;
  o.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<catalog::Catalog>> c =
      catalog::Catalog::Open(absl::StrCat(state, "/catalog.db"), SystemClockInstance(), o);
  if (!c.ok() && c.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(
        absl::StrCat("no drive catalog in ", state, " (pass --state DIR of a mounted drive)"));
  }
  return c;
}

absl::StatusOr<catalog::Ino> ResolvePath(catalog::Catalog& c, const std::string& path) {
  catalog::Ino ino = catalog::kRootIno;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StatusOr<catalog::Attr> a = c.Lookup(ino, StdView(part));
    if (!a.ok()) return absl::NotFoundError(absl::StrCat("no such file in the drive: ", path));
    ino = a->ino;
  }
  return ino;
}

Json VerdictJson(const catalog::Verdict& v) {
  Json j{{"id", v.id},
         {"time", TimeText(v.time)},
         {"block", v.block_number},
         {"block_hash", HexEncode0x(v.block_hash)},
         {"shard", Hex(v.shard_id)},
         {"farmer", Hex(v.farmer)},
         {"kind", std::string(catalog::AuditKindName(v.kind))},
         {"index", v.challenge_index},
         {"result", std::string(catalog::AuditResultName(v.result))},
         {"latency_ms", v.latency_ms}};
  if (v.placement) j["placement"] = *v.placement;
  if (v.version) j["version"] = *v.version;
  if (v.ino) j["ino"] = *v.ino;
  Json detail = Json::parse(v.detail, nullptr, /*allow_exceptions=*/false);
  j["detail"] = detail.is_discarded() ? Json(v.detail) : detail;
  j["reported"] = v.reported.has_value();
  return j;
}

// The root key: test mode's key file in the state dir, else the wallet (nullopt when neither
// is available; the caller explains without keys).
std::optional<codec::RootKey> FindRootKey(const Args& args, std::string* why) {
  std::ifstream in(absl::StrCat(args.state, "/test-mode-root.key"), std::ios::binary);
  codec::RootKey key{};
  if (in.read(reinterpret_cast<char*>(key.data()), key.size())) return key;
  absl::StatusOr<crypto::PrivateKey> wallet = UnlockWallet(args.drive.wallet);
  if (!wallet.ok()) {
    *why = std::string(StdView(wallet.status().message()));
    return std::nullopt;
  }
  absl::StatusOr<codec::RootKey> root = codec::DeriveRootKey(wallet->bytes());
  if (!root.ok()) {
    *why = std::string(StdView(root.status().message()));
    return std::nullopt;
  }
  return *root;
}

int ListVerdicts(const Args& args, catalog::Catalog& c) {
  catalog::VerdictQuery q;
  q.limit = args.limit;
  if (!args.file.empty()) {
    absl::StatusOr<catalog::Ino> ino = ResolvePath(c, args.file);
    if (!ino.ok()) return Fail(ino.status(), kExitNoInput);
    q.ino = *ino;
  }
  absl::StatusOr<std::vector<catalog::Verdict>> list = c.ListVerdicts(q);
  if (!list.ok()) return Fail(list.status());
  if (args.json) {
    Json arr = Json::array();
    for (const catalog::Verdict& v : *list) arr.push_back(VerdictJson(v));
    std::printf("%s\n", Json{{"verdicts", arr}}.dump().c_str());
    return kExitOk;
  }
  if (list->empty()) {
    std::printf("no audits recorded yet\n");
    return kExitOk;
  }
  std::printf("%-6s %-20s %-8s %-12s %-12s %-15s %-8s %s\n", "ID", "TIME", "BLOCK", "SHARD",
              "FARMER", "CHALLENGE", "RESULT", "LATENCY");
  for (const catalog::Verdict& v : *list) {
    std::string challenge = absl::StrCat(
        v.kind == catalog::AuditKind::kSentinel ? "group " : "leaf ", v.challenge_index);
    std::printf("%-6lld %-20s %-8llu %-12s %-12s %-15s %-8s %ums\n", (long long)v.id,
                TimeText(v.time).c_str(), (unsigned long long)v.block_number,
                Hex(v.shard_id).substr(0, 12).c_str(), Hex(v.farmer).substr(0, 12).c_str(),
                challenge.c_str(), std::string(catalog::AuditResultName(v.result)).c_str(),
                v.latency_ms);
  }
  return kExitOk;
}

int Explain(const Args& args, catalog::Catalog& c) {
  absl::StatusOr<catalog::Verdict> v = c.GetVerdict(*args.explain);
  if (!v.ok()) return Fail(v.status(), kExitNoInput);
  Json out = VerdictJson(*v);
  out["seed"] = codec::ChallengeSeed(v->block_hash, v->shard_id);
  std::string human;
  // Find the shard's position and manifest: through the placement, else by shard id.
  std::optional<catalog::Placement> placement;
  if (v->placement) {
    absl::StatusOr<catalog::Placement> p = c.GetPlacement(*v->placement);
    if (p.ok()) placement = *p;
  }
  if (!placement) {
    absl::StatusOr<std::vector<catalog::Placement>> ps = c.ListPlacementsByShard(v->shard_id);
    if (ps.ok() && !ps->empty()) placement = ps->front();
  }
  if (!placement) {
    out["explained"] = false;
    out["note"] = "the shard's placement is gone (version deleted): only the record is shown";
  } else {
    absl::StatusOr<catalog::Version> version = c.GetVersion(placement->version);
    absl::StatusOr<codec::FileManifest> manifest =
        version.ok() ? codec::DecodeFileManifest(version->manifest)
                     : absl::StatusOr<codec::FileManifest>(version.status());
    std::string why;
    std::optional<codec::RootKey> root = FindRootKey(args, &why);
    if (!manifest.ok()) {
      out["explained"] = false;
      out["note"] = std::string(StdView(manifest.status().message()));
    } else if (!root) {
      out["explained"] = false;
      out["note"] = absl::StrCat("no keys to recompute the sentinel values (", why,
                                 "); the recorded positions are in detail");
    } else {
      absl::StatusOr<codec::BucketKey> bucket = codec::DeriveBucketKey(*root, version->bucket_id);
      if (!bucket.ok()) return Fail(bucket.status());
      codec::FileKey key = codec::DeriveFileKey(*bucket, version->nonce);
      audit::ExplainRequest r;
      r.block_hash = v->block_hash;
      r.shard_id = v->shard_id;
      r.segment = placement->segment;
      r.shard_index = placement->shard_index;
      r.kind = v->kind == catalog::AuditKind::kSentinel ? audit::ChallengeKind::kSentinel
                                                        : audit::ChallengeKind::kMerkle;
      r.recorded_index = v->challenge_index;
      r.sentinel_generation = placement->sentinel_generation;  // of the challenged copy
      uint64_t groups = codec::SentinelGroupCount(*manifest, placement->segment);
      for (uint64_t g = 0; g < groups; ++g) {
        if (catalog::GroupUsed(placement->groups_used, static_cast<uint32_t>(g))) {
          r.used_groups.push_back(g);
        }
      }
      absl::StatusOr<audit::Explanation> e = audit::ExplainVerdict(r, *manifest, key);
      if (!e.ok()) return Fail(e.status());
      Json positions = Json::array(), expected = Json::array();
      for (uint64_t p : e->positions) positions.push_back(p);
      for (const crypto::Hash256& h : e->expected) expected.push_back(Hex(h));
      out["explained"] = true;
      out["consistent"] = e->consistent;
      out["domain"] = e->domain;
      out["start"] = e->start;
      out["skipped_used"] = e->skipped;
      out["sentinel_generation"] = e->sentinel_generation;
      out["recomputed_positions"] = positions;
      out["expected_values"] = expected;
      out["note"] = e->note;
    }
  }
  if (args.json) {
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::printf("verdict %lld: %s %s %llu at block %llu (%s)\n", (long long)v->id,
              std::string(catalog::AuditResultName(v->result)).c_str(),
              v->kind == catalog::AuditKind::kSentinel ? "sentinel group" : "merkle leaf",
              (unsigned long long)v->challenge_index, (unsigned long long)v->block_number,
              HexEncode0x(v->block_hash).c_str());
  std::printf("shard %s on farmer %s, latency %u ms\n", Hex(v->shard_id).c_str(),
              Hex(v->farmer).c_str(), v->latency_ms);
  std::printf("seed H(blockHash || shard id) = %llu\n",
              (unsigned long long)codec::ChallengeSeed(v->block_hash, v->shard_id));
  if (out.value("explained", false)) {
    std::printf(
        "start = seed mod %llu = %llu; %s\n", (unsigned long long)out["domain"].get<uint64_t>(),
        (unsigned long long)out["start"].get<uint64_t>(), out["note"].get<std::string>().c_str());
    std::printf("consistent with the record: %s\n", out["consistent"].get<bool>() ? "yes" : "NO");
    const Json& pos = out["recomputed_positions"];
    const Json& exp = out["expected_values"];
    for (size_t i = 0; i < pos.size(); ++i) {
      std::printf("  stored offset %llu expects %s\n", (unsigned long long)pos[i].get<uint64_t>(),
                  exp[i].get<std::string>().c_str());
    }
  } else {
    std::printf("%s\n", out["note"].get<std::string>().c_str());
  }
  std::printf("recorded detail: %s\n", v->detail.c_str());
  return kExitOk;
}

int Stats(const Args& args, catalog::Catalog& c) {
  absl::StatusOr<std::vector<catalog::FarmerAuditStats>> farmers = c.FarmerStats();
  if (!farmers.ok()) return Fail(farmers.status());
  Json fj = Json::array();
  for (const catalog::FarmerAuditStats& s : *farmers) {
    fj.push_back({{"farmer", Hex(s.farmer)},
                  {"pass", s.pass},
                  {"fail", s.fail},
                  {"timeout", s.timeout},
                  {"error", s.error},
                  {"pass_rate", s.pass_rate()},
                  {"mean_latency_ms", s.mean_latency_ms}});
  }
  // Per file: passed sentinel challenges per current shard -> caught-probability for e = 1%.
  Json files = Json::array();
  absl::StatusOr<std::vector<catalog::Version>> versions =
      c.ListVersionsByState(catalog::VersionState::kCommitted, 100000);
  if (!versions.ok()) return Fail(versions.status());
  for (const catalog::Version& v : *versions) {
    if (v.kind != catalog::VersionKind::kSharded || !v.is_current) continue;
    absl::StatusOr<codec::FileManifest> m = codec::DecodeFileManifest(v.manifest);
    if (!m.ok()) continue;
    catalog::VerdictQuery q;
    q.version = v.id;
    q.limit = 1'000'000;
    absl::StatusOr<std::vector<catalog::Verdict>> verdicts = c.ListVerdicts(q);
    if (!verdicts.ok()) return Fail(verdicts.status());
    std::map<codec::ShardId, uint64_t> sentinel_challenges;
    for (const codec::SegmentManifest& seg : m->segments) {
      for (const codec::ShardManifest& s : seg.shards) sentinel_challenges[s.id] = 0;
    }
    uint64_t total = 0;
    for (const catalog::Verdict& x : *verdicts) {
      ++total;
      auto it = sentinel_challenges.find(x.shard_id);
      if (it != sentinel_challenges.end() && x.kind == catalog::AuditKind::kSentinel) ++it->second;
    }
    const double p = audit::DetectionProbability(0.01, m->group_size);
    double worst = 1.0, sum = 0;
    for (const auto& [id, n] : sentinel_challenges) {
      double caught = audit::CumulativeDetection(p, n);
      worst = std::min(worst, caught);
      sum += caught;
    }
    Json f{
        {"version", v.id},
        {"ino", v.ino},
        {"size", v.size},
        {"shards", sentinel_challenges.size()},
        {"challenges", total},
        {"caught_1pct_min", worst},
        {"caught_1pct_mean", sentinel_challenges.empty() ? 0.0 : sum / sentinel_challenges.size()}};
    files.push_back(f);
  }
  const double p1 = audit::DetectionProbability(0.01, 8);
  // At the default schedule: one scheduled and on average one lottery challenge per period,
  // one in merkle_every of them a Merkle challenge; 15 s blocks (GenaroCore's target).
  const audit::PlanOptions defaults;
  const double per_period = 2.0 * (1.0 - 1.0 / defaults.merkle_every);
  const audit::DetectionEstimate est = audit::EstimateDetection(
      0.01, 8, 0.999, defaults.period_blocks, per_period, absl::Seconds(15));
  Json out{{"farmers", fj},
           {"files", files},
           {"per_challenge_detection_1pct_q8", p1},
           {"challenges_for_99.9pct", est.challenges},
           {"blocks_for_99.9pct_at_defaults", est.blocks},
           {"hours_for_99.9pct_at_defaults", absl::ToDoubleHours(est.time)}};
  if (args.json) {
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::printf("%-42s %7s %6s %8s %6s %9s %8s\n", "FARMER", "PASS", "FAIL", "TIMEOUT", "ERROR",
              "PASS RATE", "LATENCY");
  for (const catalog::FarmerAuditStats& s : *farmers) {
    std::printf("%-42s %7llu %6llu %8llu %6llu %8.1f%% %6.0fms\n", Hex(s.farmer).c_str(),
                (unsigned long long)s.pass, (unsigned long long)s.fail,
                (unsigned long long)s.timeout, (unsigned long long)s.error, 100 * s.pass_rate(),
                s.mean_latency_ms);
  }
  std::printf("\n%-8s %-8s %12s %10s %s\n", "VERSION", "INO", "SIZE", "AUDITS",
              "P(caught | 1% missing): weakest shard / mean");
  for (const Json& f : files) {
    std::printf("%-8lld %-8lld %12llu %10llu %.4f / %.4f\n", (long long)f["version"].get<int64_t>(),
                (long long)f["ino"].get<int64_t>(), (unsigned long long)f["size"].get<uint64_t>(),
                (unsigned long long)f["challenges"].get<uint64_t>(),
                f["caught_1pct_min"].get<double>(), f["caught_1pct_mean"].get<double>());
  }
  std::printf(
      "\none sentinel challenge (q = 8) catches a farmer missing 1%% with p = %.4f; %llu "
      "challenges give 99.9%%: %llu blocks, %.1f h at the default schedule and 15 s blocks\n",
      p1, (unsigned long long)est.challenges, (unsigned long long)est.blocks,
      absl::ToDoubleHours(est.time));
  return kExitOk;
}

// `config` is args.drive completed from the environment and validated (RunAudit).
int Once(const Args& args, const DriveConfig& config, catalog::Catalog& c) {
  absl::StatusOr<std::unique_ptr<DriveEnv>> env = AssembleDriveEnv(config);
  if (!env.ok()) return Fail(env.status(), kExitUnavailable);
  DriveEnv& e = **env;
  chain::LightClient light(*e.chain.eth);
  chain::Beacon beacon(light, {.confirmations = 2});
  absl::StatusOr<std::vector<chain::ConfirmedBlock>> blocks = beacon.Tick();
  if (!blocks.ok()) return Fail(blocks.status(), kExitUnavailable);
  if (blocks->empty()) {
    return Fail(absl::UnavailableError("the chain has no confirmed block yet; try again"),
                kExitTempFail);
  }
  audit::Block block{blocks->back().number, blocks->back().hash};
  const Bytes bucket = e.options.bucket_id;
  const codec::BucketKey bucket_key = e.env.bucket_key;
  audit::FileKeyProvider keys = [&](const catalog::Version& v) -> absl::StatusOr<codec::FileKey> {
    if (v.bucket_id != bucket) {
      return absl::FailedPreconditionError("version is in another bucket than --bucket");
    }
    return codec::DeriveFileKey(bucket_key, v.nonce);
  };
  audit::ShardAuditNetwork network(*e.client, *e.host, SystemClockInstance());
  audit::Auditor auditor(c, network, keys, SystemClockInstance());
  std::vector<catalog::PlacementId> ids;
  absl::StatusOr<std::vector<catalog::Placement>> all =
      c.ListPlacementsDueForAudit(absl::InfiniteFuture(), 1'000'000);
  if (!all.ok()) return Fail(all.status());
  for (const catalog::Placement& p : *all) ids.push_back(p.id);
  absl::StatusOr<audit::AuditRound> round = auditor.AuditPlacements(block, ids);
  if (!round.ok()) return Fail(round.status());
  audit::Repairer repairer(c, *e.network, keys, SystemClockInstance());
  // Repairs of bad shards first, then fresh sentinels for shards whose budget ran low.
  std::vector<absl::StatusOr<audit::RepairResult>> repairs = repairer.RepairAll();
  std::vector<absl::StatusOr<audit::RepairResult>> retags = repairer.RetagAll();
  repairs.insert(repairs.end(), std::make_move_iterator(retags.begin()),
                 std::make_move_iterator(retags.end()));
  Json verdicts = Json::array();
  for (size_t i = 0; i < round->verdicts.size(); ++i) {
    absl::StatusOr<catalog::Verdict> v = c.GetVerdict(round->verdict_ids[i]);
    if (v.ok()) verdicts.push_back(VerdictJson(*v));
  }
  Json rj = Json::array();
  int failed_repairs = 0;
  for (const auto& r : repairs) {
    if (r.ok()) {
      rj.push_back({{"old_placement", r->old_placement},
                    {"new_placement", r->new_placement},
                    {"old_farmer", Hex(r->old_farmer)},
                    {"new_farmer", Hex(r->new_farmer)},
                    {"generation", r->generation},
                    {"sentinel_generation", r->sentinel_generation},
                    {"retagged", r->retagged}});
    } else {
      ++failed_repairs;
      rj.push_back({{"error", std::string(StdView(r.status().message()))}});
    }
  }
  Json out{{"block", block.number},
           {"block_hash", HexEncode0x(block.hash)},
           {"verdicts", verdicts},
           {"repairs", rj}};
  if (args.json) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("audited %zu shards at block %llu\n", round->verdicts.size(),
                (unsigned long long)block.number);
    for (const audit::Verdict& v : round->verdicts) {
      std::printf("  %s\n", audit::DescribeVerdict(v).c_str());
    }
    std::printf("%zu repairs and re-tags (%d failed)\n", repairs.size(), failed_repairs);
  }
  return failed_repairs > 0 ? kExitFailure : kExitOk;
}

// Fills what no flag gave from the configuration (tools/config.h: flag > environment >
// config.toml > default), as `gnr mount` does. Values the resolver reports as built-in
// defaults are left to the code that already has the same ones (DefaultState(),
// ApplyDriveEnvironment()).
void ApplyConfig(const Config& config, Args& args) {
  auto configured = [&](std::string_view key) {
    const ConfigValue& v = config.Get(key);
    return v.is_set() && v.source != "default";
  };
  if (args.state.empty() && configured("drive.state")) args.state = config.String("drive.state");
  DriveConfig& d = args.drive;
  if (d.rpc_url.empty() && configured("chain.rpc")) d.rpc_url = config.String("chain.rpc");
  if (d.contract.empty()) d.contract = config.String("chain.contract");
  WalletAccess wallet = WalletAccessFromConfig(config);
  if (d.wallet.keystore_path.empty()) d.wallet.keystore_path = wallet.keystore_path;
  if (d.wallet.password_file.empty()) d.wallet.password_file = wallet.password_file;
  if (d.bucket_hex.empty()) d.bucket_hex = config.String("drive.bucket");
  if (d.bootstrap.empty()) d.bootstrap = config.List("drive.bootstrap");
}

int RunAudit(const std::vector<std::string>& raw_argv) {
  Args args;
  args.drive.wallet.keystore_path = "";
  std::vector<std::string> argv = raw_argv;
  absl::StatusOr<std::optional<std::string>> config_flag = TakeConfigFlag(&argv);
  if (!config_flag.ok()) return UsageError(std::string(StdView(config_flag.status().message())));
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    std::string v;
    std::string error;
    auto value = [&](std::string_view flag, std::string* out) {
      return TakeFlagValue(argv, i, flag, out, &error);
    };
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return kExitOk;
    } else if (a == "stats" && i == 0) {
      args.stats = true;
    } else if (a == "--json") {
      args.json = true;
    } else if (a == "--once") {
      args.once = true;
    } else if (value("--state", &v)) {
      args.state = v;
    } else if (value("--limit", &v)) {
      size_t n = 0;
      if (!absl::SimpleAtoi(v, &n) || n == 0) return UsageError("--limit takes a positive number");
      args.limit = n;
    } else if (value("--file", &v)) {
      args.file = v;
    } else if (value("--explain", &v)) {
      int64_t id = 0;
      if (!absl::SimpleAtoi(v, &id) || id <= 0) {
        return UsageError("--explain takes a verdict id (see `gnr audit`)");
      }
      args.explain = id;
    } else if (value("--rpc", &v)) {
      args.drive.rpc_url = v;
    } else if (value("--contract", &v)) {
      args.drive.contract = v;
    } else if (value("--bucket", &v)) {
      args.drive.bucket_hex = v;
    } else if (value("--bootstrap", &v)) {
      args.drive.bootstrap.push_back(v);
    } else if (value("--keystore", &v)) {
      args.drive.wallet.keystore_path = v;
    } else if (value("--password-file", &v)) {
      args.drive.wallet.password_file = v;
    } else {
      return UsageError(absl::StrCat("unknown argument '", a, "'"));
    }
    if (!error.empty()) return UsageError(error);
  }
  if (args.explain && (args.stats || args.once)) {
    return UsageError("--explain cannot be combined with stats or --once");
  }
  std::optional<Config> config = LoadCommandConfig("audit", *config_flag);
  if (!config) return kExitConfig;
  ApplyConfig(*config, args);
  if (args.state.empty()) args.state = DefaultState();
  // --once: say what is missing from the drive's settings before touching anything.
  DriveConfig drive = args.drive;
  if (args.once) {
    drive.state_dir = args.state;
    ApplyDriveEnvironment(drive);
    if (absl::Status s = ValidateDriveConfig(drive); !s.ok()) {
      return UsageError(std::string(StdView(s.message())));
    }
  }
  absl::StatusOr<std::unique_ptr<catalog::Catalog>> c = OpenCatalog(args.state);
  if (!c.ok()) {
    return Fail(c.status(),
                c.status().code() == absl::StatusCode::kNotFound ? kExitNoInput : kExitFailure);
  }
  if (args.once) return Once(args, drive, **c);
  if (args.stats) return Stats(args, **c);
  if (args.explain) return Explain(args, **c);
  return ListVerdicts(args, **c);
}

}  // namespace

Command AuditCommand() {
  return {"audit", "show, explain and run SPoR audits of the drive's shards", kUsage, RunAudit};
}

}  // namespace gnr::tools
