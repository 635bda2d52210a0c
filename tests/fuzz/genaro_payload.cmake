gnr_fuzz_target(genaro_payload DEPS gnr_chain)
