gnr_fuzz_target(zmq_envelope DEPS gnr_net_zmq)
