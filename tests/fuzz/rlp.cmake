gnr_fuzz_target(rlp DEPS gnr_chain)
