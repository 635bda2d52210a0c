gnr_fuzz_target(abi DEPS gnr_chain)
