gnr_fuzz_target(block_header DEPS gnr_chain)
