//! tokio-chat, compiled against seedloop's tokio facade: its source is included as it
//! is, so its own `#[tokio::test]`s run as seed sweeps here, and `tests/race.rs` shows
//! the planted race found, replayed and fixed.

#[path = "../../tokio-chat/src/lib.rs"]
pub mod chat;
