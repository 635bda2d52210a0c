gnr_fuzz_target(jsonrpc DEPS gnr_chain)
