//! NATS JetStream: publish with acknowledgements, spool to disk while the server is away.
