gnr_fuzz_target(file_manifest DEPS gnr_codec)
