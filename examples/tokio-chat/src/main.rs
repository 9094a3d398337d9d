//! The chat server on a real port: `cargo run -p tokio-chat -- 127.0.0.1:7878`, then
//! `nc 127.0.0.1 7878`, type a name, and chat.

use tokio_chat::{serve, Delivery};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_string());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("chat on {}", listener.local_addr()?);
    serve(listener, Delivery::SkipGone).await;
    Ok(())
}
