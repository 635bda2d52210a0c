# Every third-party dependency is found here, once, and exposed as an imported target.
# All of them are Debian 12 packages installed by scripts/setup.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(absl REQUIRED)
find_package(GTest REQUIRED)

pkg_check_modules(CRYPTOPP REQUIRED IMPORTED_TARGET libcrypto++)
pkg_check_modules(SECP256K1 REQUIRED IMPORTED_TARGET libsecp256k1)
# chain-client: JSON-RPC over HTTP (libcurl) and JSON parsing (nlohmann-json).
find_package(CURL REQUIRED)
find_package(nlohmann_json REQUIRED)
pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq)
# fs/catalog (and the farmer's index): SQLite.
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
# fs/fuse: libfuse 3 (low-level API); only fs/fuse/ includes its headers.
pkg_check_modules(FUSE3 REQUIRED IMPORTED_TARGET fuse3)
# tools/config: ~/.config/gnr/config.toml (toml++, a shared library on Debian).
find_package(tomlplusplus REQUIRED)

find_path(JERASURE_INCLUDE_DIR jerasure.h REQUIRED)
find_library(JERASURE_LIBRARY Jerasure REQUIRED)
find_library(GF_COMPLETE_LIBRARY gf_complete REQUIRED)
add_library(gnr_jerasure INTERFACE)
target_include_directories(gnr_jerasure INTERFACE ${JERASURE_INCLUDE_DIR}
                                                  ${JERASURE_INCLUDE_DIR}/jerasure)
target_link_libraries(gnr_jerasure INTERFACE ${JERASURE_LIBRARY} ${GF_COMPLETE_LIBRARY})

if(GNR_BENCH)
  find_package(benchmark REQUIRED)
endif()
