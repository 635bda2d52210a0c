#include "chain-client/trie.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "chain-client/rlp.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"

namespace gnr::chain {
namespace {

using Nibbles = std::vector<uint8_t>;

Nibbles ToNibbles(ByteView key) {
  Nibbles out;
  out.reserve(key.size() * 2);
  for (uint8_t b : key) {
    out.push_back(b >> 4);
    out.push_back(b & 0x0f);
  }
  return out;
}

// Hex-prefix encoding (yellow paper, appendix C).
Bytes HexPrefix(std::span<const uint8_t> nibbles, bool leaf) {
  Bytes out;
  const bool odd = nibbles.size() % 2 == 1;
  const uint8_t flag = static_cast<uint8_t>((leaf ? 2 : 0) + (odd ? 1 : 0));
  size_t i = 0;
  if (odd) {
    out.push_back(static_cast<uint8_t>(flag << 4 | nibbles[0]));
    i = 1;
  } else {
    out.push_back(static_cast<uint8_t>(flag << 4));
  }
  for (; i < nibbles.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(nibbles[i] << 4 | nibbles[i + 1]));
  }
  return out;
}

struct Entry {
  Nibbles path;
  const Bytes* value;
};

// How a parent refers to a child node: embedded if shorter than 32 bytes, else by hash.
void AddChildRef(RlpListBuilder& b, const Bytes& node) {
  if (node.size() < 32) {
    b.AddRaw(node);
  } else {
    b.AddBytes(crypto::Keccak256(node));
  }
}

// Records the nodes on the path to one key while a trie is built (for ComputeTrieProof).
struct ProofRecorder {
  const Nibbles* target;
  std::vector<Bytes> nodes;  // deepest first
};

// Encodes the node holding `entries` (sorted by path, unique, non-empty values), all of
// which share their first `depth` nibbles. If `recorder` is set, this node lies on the path
// to recorder->target: hashed nodes on that path are appended to it (deepest first).
Bytes BuildNode(std::span<const Entry> entries, size_t depth, ProofRecorder* recorder,
                bool is_root) {
  Bytes node;
  if (entries.empty()) {
    node = RlpEncodeBytes({});
  } else if (entries.size() == 1) {
    const Entry& e = entries[0];
    std::span<const uint8_t> rest(e.path.data() + depth, e.path.size() - depth);
    node = RlpListBuilder().AddBytes(HexPrefix(rest, true)).AddBytes(*e.value).Build();
  } else {
    // Longest common prefix beyond `depth` (of a sorted list: that of its first and last).
    const Nibbles& first = entries.front().path;
    const Nibbles& last = entries.back().path;
    size_t lcp = 0;
    while (depth + lcp < first.size() && depth + lcp < last.size() &&
           first[depth + lcp] == last[depth + lcp]) {
      ++lcp;
    }
    if (lcp > 0) {
      std::span<const uint8_t> shared(first.data() + depth, lcp);
      const bool on_path =
          recorder != nullptr && recorder->target->size() >= depth + lcp &&
          std::equal(shared.begin(), shared.end(), recorder->target->begin() + depth);
      RlpListBuilder b;
      b.AddBytes(HexPrefix(shared, false));
      AddChildRef(b, BuildNode(entries, depth + lcp, on_path ? recorder : nullptr, false));
      node = b.Build();
    } else {
      RlpListBuilder branch;
      const Bytes* value = nullptr;
      size_t i = 0;
      if (entries[0].path.size() == depth) {
        value = entries[0].value;  // sorted: a path that ends here comes first
        i = 1;
      }
      for (uint8_t nibble = 0; nibble < 16; ++nibble) {
        size_t j = i;
        while (j < entries.size() && entries[j].path[depth] == nibble) ++j;
        if (j == i) {
          branch.AddBytes({});
        } else {
          const bool on_path = recorder != nullptr && recorder->target->size() > depth &&
                               (*recorder->target)[depth] == nibble;
          AddChildRef(branch, BuildNode(entries.subspan(i, j - i), depth + 1,
                                        on_path ? recorder : nullptr, false));
        }
        i = j;
      }
      if (value != nullptr) {
        branch.AddBytes(*value);
      } else {
        branch.AddBytes({});
      }
      node = branch.Build();
    }
  }
  if (recorder != nullptr && (is_root || node.size() >= 32)) recorder->nodes.push_back(node);
  return node;
}

std::vector<Entry> SortedEntries(const std::vector<std::pair<Bytes, Bytes>>& entries) {
  // Last write wins, empty values are deletions. Byte order of keys equals nibble order of
  // paths (a prefix sorts first in both).
  std::map<Bytes, const Bytes*> unique;
  for (const auto& [k, v] : entries) unique[k] = &v;
  std::vector<Entry> sorted;
  sorted.reserve(unique.size());
  for (const auto& [k, v] : unique) {
    if (v->empty()) continue;
    sorted.push_back(Entry{ToNibbles(k), v});
  }
  return sorted;
}

absl::Status BadProof(std::string_view what) {
  return absl::DataLossError(absl::StrCat("invalid Merkle-Patricia proof: ", AbslView(what)));
}

}  // namespace

const Hash256& EmptyTrieRoot() {
  static const Hash256 root = crypto::Keccak256(RlpEncodeBytes({}));
  return root;
}

const Hash256& EmptyCodeHash() {
  static const Hash256 hash = crypto::Keccak256(ByteView());
  return hash;
}

Hash256 ComputeTrieRoot(std::vector<std::pair<Bytes, Bytes>> entries) {
  std::vector<Entry> sorted = SortedEntries(entries);
  return crypto::Keccak256(BuildNode(sorted, 0, nullptr, true));
}

std::vector<Bytes> ComputeTrieProof(std::vector<std::pair<Bytes, Bytes>> entries, ByteView key) {
  std::vector<Entry> sorted = SortedEntries(entries);
  Nibbles target = ToNibbles(key);
  ProofRecorder recorder{&target, {}};
  BuildNode(sorted, 0, &recorder, true);
  std::reverse(recorder.nodes.begin(), recorder.nodes.end());
  return recorder.nodes;
}

Hash256 ComputeOrderedTrieRoot(std::span<const Bytes> values) {
  std::vector<std::pair<Bytes, Bytes>> entries;
  entries.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) entries.emplace_back(RlpEncodeUint(i), values[i]);
  return ComputeTrieRoot(std::move(entries));
}

absl::StatusOr<std::optional<Bytes>> VerifyTrieProof(const Hash256& root, ByteView key,
                                                     std::span<const Bytes> proof) {
  const Nibbles path = ToNibbles(key);
  size_t pos = 0;   // nibbles of `path` consumed
  size_t next = 0;  // proof nodes consumed
  Hash256 expected = root;
  ByteView embedded;  // set when the next node is embedded in its parent
  bool have_embedded = false;
  auto finish = [&](std::optional<Bytes> value) -> absl::StatusOr<std::optional<Bytes>> {
    if (next != proof.size()) {
      return BadProof(absl::StrCat(proof.size() - next, " unused node(s) after the answer"));
    }
    return value;
  };
  // A bound on the walk: each step consumes a node or at least one nibble.
  for (size_t steps = 0; steps <= proof.size() + path.size() + 1; ++steps) {
    ByteView node_bytes;
    if (have_embedded) {
      node_bytes = embedded;
      have_embedded = false;
    } else {
      if (next >= proof.size()) {
        if (next == 0 && root == EmptyTrieRoot()) return std::optional<Bytes>();
        return BadProof(
            absl::StrCat("the proof ends after ", next, " node(s) without reaching the key"));
      }
      if (crypto::Keccak256(proof[next]) != expected) {
        return BadProof(absl::StrCat("node ", next, " does not hash to ", HexEncode0x(expected),
                                     next == 0 ? " (the trusted root)" : " (its parent's link)"));
      }
      node_bytes = proof[next++];
    }
    absl::StatusOr<RlpItem> decoded = RlpDecode(node_bytes);
    if (!decoded.ok()) return BadProof(StdView(decoded.status().message()));
    const RlpItem& node = *decoded;
    if (node.is_string()) {
      // Only the empty trie's root node is a (empty) string.
      if (node.payload().empty() && next == 1) return finish(std::nullopt);
      return BadProof("a trie node must be a list");
    }
    // Follows a child reference: empty = absent, 32-byte string = hash, list = embedded.
    auto follow = [&](const RlpItem& child) -> absl::StatusOr<bool> {
      if (child.is_list()) {
        if (child.encoded().size() >= 32) return BadProof("embedded node of 32 bytes or more");
        embedded = child.encoded();
        have_embedded = true;
        return true;
      }
      if (child.payload().empty()) return false;
      if (child.payload().size() != 32) return BadProof("child reference is not a 32-byte hash");
      std::copy(child.payload().begin(), child.payload().end(), expected.begin());
      return true;
    };
    const auto& items = node.items();
    if (items.size() == 17) {
      if (pos == path.size()) {
        if (items[16].is_list()) return BadProof("branch value is a list");
        if (items[16].payload().empty()) return finish(std::nullopt);
        return finish(ToBytes(items[16].payload()));
      }
      absl::StatusOr<bool> more = follow(items[path[pos]]);
      if (!more.ok()) return more.status();
      if (!*more) return finish(std::nullopt);
      ++pos;
      continue;
    }
    if (items.size() != 2) {
      return BadProof(absl::StrCat("a trie node has 2 or 17 items, got ", items.size()));
    }
    if (items[0].is_list() || items[0].payload().empty()) return BadProof("bad hex-prefix path");
    ByteView hp = items[0].payload();
    const uint8_t flag = hp[0] >> 4;
    if (flag > 3 || (flag % 2 == 0 && (hp[0] & 0x0f) != 0)) return BadProof("bad hex-prefix flag");
    const bool leaf = flag >= 2;
    Nibbles segment;
    if (flag % 2 == 1) segment.push_back(hp[0] & 0x0f);
    for (size_t i = 1; i < hp.size(); ++i) {
      segment.push_back(hp[i] >> 4);
      segment.push_back(hp[i] & 0x0f);
    }
    const bool matches = path.size() - pos >= segment.size() &&
                         std::equal(segment.begin(), segment.end(), path.begin() + pos);
    if (leaf) {
      if (!matches || pos + segment.size() != path.size()) return finish(std::nullopt);
      if (items[1].is_list()) return BadProof("leaf value is a list");
      return finish(ToBytes(items[1].payload()));
    }
    if (segment.empty()) return BadProof("extension node with an empty path");
    if (!matches) return finish(std::nullopt);
    pos += segment.size();
    absl::StatusOr<bool> more = follow(items[1]);
    if (!more.ok()) return more.status();
    if (!*more) return BadProof("extension node without a child");
  }
  return BadProof("proof walk does not terminate");
}

absl::StatusOr<AccountState> VerifyAccountProof(const Hash256& state_root,
                                                const FixedBytes<20>& address,
                                                std::span<const Bytes> proof) {
  Hash256 key = crypto::Keccak256(address);
  absl::StatusOr<std::optional<Bytes>> value = VerifyTrieProof(state_root, key, proof);
  if (!value.ok()) return Annotate(value.status(), absl::StrCat("account 0x", HexEncode(address)));
  AccountState account;
  if (!value->has_value()) return account;
  auto parse = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(RlpItem item, RlpDecode(**value));
    GNR_ASSIGN_OR_RETURN(auto f, item.AsList(4));
    GNR_ASSIGN_OR_RETURN(account.nonce, f[0].AsUint64());
    GNR_ASSIGN_OR_RETURN(account.balance, f[1].AsU256());
    GNR_ASSIGN_OR_RETURN(account.storage_root, f[2].AsFixed<32>());
    GNR_ASSIGN_OR_RETURN(account.code_hash, f[3].AsFixed<32>());
    return absl::OkStatus();
  };
  absl::Status s = parse();
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("account 0x", HexEncode(address),
                                            ": malformed account in a valid proof: ", s.message()));
  }
  account.exists = true;
  return account;
}

absl::StatusOr<U256> VerifyStorageProof(const Hash256& storage_root, const Hash256& slot,
                                        std::span<const Bytes> proof) {
  Hash256 key = crypto::Keccak256(slot);
  absl::StatusOr<std::optional<Bytes>> value = VerifyTrieProof(storage_root, key, proof);
  if (!value.ok())
    return Annotate(value.status(), absl::StrCat("storage slot ", HexEncode0x(slot)));
  if (!value->has_value()) return U256();
  absl::StatusOr<RlpItem> item = RlpDecode(**value);
  absl::StatusOr<U256> v = item.ok() ? item->AsU256() : absl::StatusOr<U256>(item.status());
  if (!v.ok()) {
    return absl::DataLossError(
        absl::StrCat("storage slot ", HexEncode0x(slot),
                     ": malformed value in a valid proof: ", v.status().message()));
  }
  return v;
}

}  // namespace gnr::chain
