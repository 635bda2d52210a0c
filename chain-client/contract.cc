#include "chain-client/contract.h"

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"

namespace gnr::chain {

absl::StatusOr<AbiValue> DecodedEvent::Get(std::string_view param) const {
  std::optional<size_t> i = event->ParamIndex(param);
  if (!i || *i >= values.size()) {
    return absl::NotFoundError(
        absl::StrCat("event ", event->name, " has no param \"", AbslView(param), "\""));
  }
  return values[*i];
}

absl::StatusOr<Bytes> Contract::DeploymentData(const AbiContract& abi, ByteView bytecode,
                                               std::span<const AbiValue> constructor_args) {
  std::vector<AbiType> types;
  for (const AbiParam& p : abi.constructor_inputs()) types.push_back(p.type);
  absl::StatusOr<Bytes> args = AbiEncode(types, constructor_args);
  if (!args.ok()) return Annotate(args.status(), "constructor arguments");
  Bytes out(bytecode.begin(), bytecode.end());
  Append(out, *args);
  return out;
}

absl::StatusOr<Contract> Contract::Deploy(TxSender& sender, EthRpc& rpc, AbiContract abi,
                                          ByteView bytecode,
                                          std::span<const AbiValue> constructor_args,
                                          const U256& value) {
  TxRequest request;
  request.value = value;
  GNR_ASSIGN_OR_RETURN(request.data, DeploymentData(abi, bytecode, constructor_args));
  GNR_ASSIGN_OR_RETURN(RpcReceipt receipt, sender.SendAndWait(request));
  if (!receipt.contract_address) {
    return absl::DataLossError(absl::StrCat("deployment ", HexEncode0x(receipt.transaction_hash),
                                            " has no contract address in its receipt"));
  }
  GNR_ASSIGN_OR_RETURN(
      Bytes code, rpc.GetCode(*receipt.contract_address, BlockRef::Number(receipt.block_number)));
  if (code.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("deployment ", HexEncode0x(receipt.transaction_hash), " left no code at ",
                     crypto::EthAddressToChecksumHex(*receipt.contract_address)));
  }
  return Contract(std::move(abi), *receipt.contract_address);
}

absl::StatusOr<const AbiFunction*> Contract::Function(std::string_view function) const {
  const AbiFunction* f = abi_.FindFunction(function);
  if (f == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("contract has no function \"", AbslView(function), "\""));
  }
  return f;
}

absl::StatusOr<Bytes> Contract::EncodeCall(std::string_view function,
                                           std::span<const AbiValue> args) const {
  GNR_ASSIGN_OR_RETURN(const AbiFunction* f, Function(function));
  return f->EncodeCall(args);
}

absl::Status Contract::WithRevertReason(const absl::Status& status) const {
  if (!absl::IsFailedPrecondition(status) || abi_.errors().empty()) return status;
  std::optional<Bytes> data = RevertDataOf(status);
  if (!data) return status;
  std::string_view message = StdView(status.message());
  size_t at = message.find("execution reverted");
  if (at == std::string_view::npos) return status;
  absl::Status out(status.code(),
                   absl::StrCat(AbslView(message.substr(0, at)), abi_.DecodeRevert(*data)));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

absl::StatusOr<std::vector<AbiValue>> Contract::Call(EthRpc& rpc, std::string_view function,
                                                     std::span<const AbiValue> args,
                                                     std::optional<EthAddress> from,
                                                     const BlockRef& block) const {
  GNR_ASSIGN_OR_RETURN(const AbiFunction* f, Function(function));
  CallRequest call;
  call.from = from;
  call.to = address_;
  GNR_ASSIGN_OR_RETURN(call.data, f->EncodeCall(args));
  absl::StatusOr<Bytes> out = rpc.Call(call, block);
  if (!out.ok()) return WithRevertReason(out.status());
  return f->DecodeOutput(*out);
}

absl::StatusOr<RpcReceipt> Contract::Transact(TxSender& sender, std::string_view function,
                                              std::span<const AbiValue> args,
                                              const U256& value) const {
  TxRequest request;
  request.to = address_;
  request.value = value;
  GNR_ASSIGN_OR_RETURN(request.data, EncodeCall(function, args));
  absl::StatusOr<RpcReceipt> r = sender.SendAndWait(request);
  if (!r.ok()) return Annotate(WithRevertReason(r.status()), function);
  return r;
}

absl::StatusOr<std::vector<DecodedEvent>> Contract::DecodeEvents(
    std::span<const RpcLog> logs) const {
  std::vector<DecodedEvent> out;
  for (const RpcLog& log : logs) {
    if (log.entry.address != address_ || log.entry.topics.empty()) continue;
    const AbiEvent* event = abi_.FindEventByTopic(log.entry.topics[0]);
    if (event == nullptr) continue;
    absl::StatusOr<std::vector<AbiValue>> values = event->DecodeLog(log.entry);
    if (!values.ok()) {
      return absl::DataLossError(absl::StrCat("event ", event->name, " from ",
                                              crypto::EthAddressToChecksumHex(address_),
                                              " does not decode: ", values.status().message()));
    }
    out.push_back(DecodedEvent{event, *std::move(values), log});
  }
  return out;
}

}  // namespace gnr::chain
