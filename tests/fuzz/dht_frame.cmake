gnr_fuzz_target(dht_frame DEPS gnr_net_wire)
