gnr_fuzz_target(merkle_proof DEPS gnr_crypto)
