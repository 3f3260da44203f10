//! nanomsg-compatible PUSH and PUB (the SP protocol over TCP and IPC).
