//! The redirect listener of `account connect`: any local user can connect to its port, so it
//! serves few connections, each briefly, and the browser's redirect gets through a flood.

use std::time::Duration;

use chirp_net::x::connect;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_gets_through_a_flood_of_idle_connections_which_are_closed() {
    let port = chirp_testing::free_port();
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/callback")).unwrap();
    let bound = connect::listen(&url).await.unwrap();
    let (_keep, pasted) = tokio::sync::mpsc::channel(1);
    let waiting = tokio::spawn(async move {
        connect::wait_for_redirect_or(bound, "st4te", Duration::from_secs(30), pasted).await
    });
    // Someone on the machine holds 200 connections open and says nothing.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    // The browser comes back from X.
    let mut browser = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    browser
        .write_all(
            format!(
                "GET /callback?state=st4te&code=c0de HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut page = String::new();
    browser.read_to_string(&mut page).await.unwrap();
    assert!(page.contains("chirp received X's answer"), "{page}");
    let answer = waiting.await.unwrap().unwrap();
    assert_eq!(answer.code.as_deref(), Some("c0de"));
    // The listener kept only a few of them: the rest were closed under the flood.
    let mut closed = 0;
    for mut s in idle {
        let mut b = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_secs(6), s.read(&mut b)).await
        {
            closed += 1;
        }
    }
    assert!(
        closed >= 190,
        "only {closed} of 200 idle connections were closed"
    );
}
