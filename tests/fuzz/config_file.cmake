# The config parser is in gnr_tools; compile just it (and the byte-size parser it uses) so the
# fuzz build does not build the whole drive.
gnr_fuzz_target(config_file
  SOURCES ${PROJECT_SOURCE_DIR}/tools/config.cc ${PROJECT_SOURCE_DIR}/net/farmer/byte_size.cc
  DEPS gnr_common tomlplusplus::tomlplusplus absl::strings absl::str_format absl::status
       absl::statusor)
