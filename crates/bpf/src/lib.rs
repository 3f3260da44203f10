//! pcap_chain filters: libpcap compiles, our cBPF machine evaluates.
