#pragma once
// A deployed contract seen through its ABI: view calls (eth_call + output decoding),
// transactions (call data + TxSender), deployment, and decoding of the events in receipts.
// Reverts become FailedPrecondition with the reason decoded, custom errors included
// ("execution reverted: StorageMarket: bucket has expired").
//
//   GNR_ASSIGN_OR_RETURN(AbiContract abi, AbiContract::FromJson(kStorageMarketAbiJson));
//   Contract market(abi, market_address);
//   GNR_ASSIGN_OR_RETURN(auto out, market.Call(eth, "stakeOf", {AbiValue::Address(me)}));
//   GNR_ASSIGN_OR_RETURN(RpcReceipt r, market.Transact(sender, "stake", {}, one_ether));
//   for (const DecodedEvent& e : market.DecodeEvents(r.logs)) ...
//
// Immutable after construction; const methods are thread-safe.

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/abi.h"
#include "chain-client/eth_rpc.h"
#include "chain-client/receipt.h"
#include "chain-client/tx_sender.h"

namespace gnr::chain {

// One event log decoded with the contract's ABI.
struct DecodedEvent {
  const AbiEvent* event = nullptr;  // points into the Contract's ABI
  std::vector<AbiValue> values;     // in declaration order
  RpcLog log;

  const std::string& name() const { return event->name; }
  // The value of the param called `param`; NotFound if the event has no such param.
  absl::StatusOr<AbiValue> Get(std::string_view param) const;
};

class Contract {
 public:
  Contract(AbiContract abi, EthAddress address) : abi_(std::move(abi)), address_(address) {}

  const AbiContract& abi() const { return abi_; }
  const EthAddress& address() const { return address_; }

  // Creation call data: bytecode || ABI-encoded constructor arguments.
  static absl::StatusOr<Bytes> DeploymentData(const AbiContract& abi, ByteView bytecode,
                                              std::span<const AbiValue> constructor_args = {});
  // Deploys with `sender` and returns the new contract (its code is checked to be non-empty).
  static absl::StatusOr<Contract> Deploy(TxSender& sender, EthRpc& rpc, AbiContract abi,
                                         ByteView bytecode,
                                         std::span<const AbiValue> constructor_args = {},
                                         const U256& value = U256());

  // Call data for `function` ("name" or "name(types)"). NotFound for an unknown function,
  // InvalidArgument if the arguments do not match its inputs.
  absl::StatusOr<Bytes> EncodeCall(std::string_view function, std::span<const AbiValue> args) const;

  // eth_call of `function` and its decoded outputs. FailedPrecondition with the decoded
  // revert reason if it reverts.
  absl::StatusOr<std::vector<AbiValue>> Call(EthRpc& rpc, std::string_view function,
                                             std::span<const AbiValue> args = {},
                                             std::optional<EthAddress> from = std::nullopt,
                                             const BlockRef& block = BlockRef::Latest()) const;

  // Sends a transaction calling `function` and waits for its receipt (TxSender::SendAndWait:
  // reverts before or after mining are FailedPrecondition with the reason).
  absl::StatusOr<RpcReceipt> Transact(TxSender& sender, std::string_view function,
                                      std::span<const AbiValue> args = {},
                                      const U256& value = U256()) const;

  // The logs emitted by this contract whose topic0 is one of its events, decoded. Logs of
  // other contracts and unknown events are skipped; a known event whose data does not decode
  // is an error (DataLoss).
  absl::StatusOr<std::vector<DecodedEvent>> DecodeEvents(std::span<const RpcLog> logs) const;

 private:
  absl::StatusOr<const AbiFunction*> Function(std::string_view function) const;
  // Re-decodes a revert with this contract's custom errors.
  absl::Status WithRevertReason(const absl::Status& status) const;

  AbiContract abi_;
  EthAddress address_;
};

}  // namespace gnr::chain
