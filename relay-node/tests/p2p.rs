//! The browser transports, exercised by the native libp2p client against the real relay binary:
//! WebRTC-direct and WebSocket serve the same proofs as HTTP, and the WebRTC certificate (hence the
//! address) survives a restart.

mod common;

use std::time::{Duration, Instant};

use common::*;
use libp2p::Multiaddr;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::verify::light_client::LightClient;
use trustchain_core::verify::wire::{Request, Response};
use trustchain_relay::net::Client;

fn addresses(url: &str) -> Vec<Multiaddr> {
    let (status, wk) = get_json(&format!("{url}/.well-known/trustchain.json"));
    assert_eq!(status, 200, "{wk}");
    wk["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().parse().unwrap())
        .collect()
}

fn wait_anchored(url: &str, index: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_json(&format!("{url}/v1/scenarios/demo%2Fbudget/records/{index}")).0 != 200 {
        assert!(Instant::now() < deadline, "record {index} never anchored");
        std::thread::sleep(Duration::from_millis(25));
    }
}

async fn verify_over(addr: Multiaddr) {
    let client = Client::connect(addr.clone())
        .await
        .unwrap_or_else(|e| panic!("{addr}: {e}"));
    let Response::Trust(trust) = client.request(Request::Trust).await.unwrap() else {
        panic!("expected a trusted checkpoint")
    };
    let mut lc = LightClient::new(trust);
    let scenario = ScenarioId::new("demo/budget").unwrap();
    for index in [1, 17, 42] {
        let res = client
            .request(Request::Record {
                scenario: scenario.clone(),
                index,
            })
            .await
            .unwrap();
        let Response::Record(proof) = res else {
            panic!("record {index}: {res:?}")
        };
        let verdict = lc.verify_record(&proof, None);
        assert!(verdict.is_verified(), "{addr}: {:?}", verdict.outcome);
    }
    // Errors come back as values with the HTTP API's codes.
    let res = client
        .request(Request::Record {
            scenario,
            index: 1_000_000,
        })
        .await
        .unwrap();
    assert!(
        matches!(res, Response::Error { ref code, .. } if code == "not_found"),
        "{res:?}"
    );
    // Long-poll for the next head: the demo keeps adding payments, so a block follows.
    let Response::Block { header, .. } = client.request(Request::Head { after: 0 }).await.unwrap()
    else {
        panic!("expected a block")
    };
    let Response::Block {
        header: next,
        certificate,
    } = client
        .request(Request::Head {
            after: header.height,
        })
        .await
        .unwrap()
    else {
        panic!("expected a block")
    };
    assert!(next.height > header.height);
    lc.verify_header(&next, &certificate).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webrtc_direct_and_websocket_serve_verifiable_records() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path(), &["--demo-every-ms", "300"]);
    let url = relay.url.clone();
    tokio::task::spawn_blocking({
        let url = url.clone();
        move || wait_anchored(&url, 42)
    })
    .await
    .unwrap();
    let addrs = tokio::task::spawn_blocking({
        let url = url.clone();
        move || addresses(&url)
    })
    .await
    .unwrap();
    let webrtc = addrs
        .iter()
        .find(|a| a.to_string().contains("/webrtc-direct/certhash/"))
        .expect("a WebRTC-direct address with its certhash")
        .clone();
    let ws = addrs
        .iter()
        .find(|a| a.to_string().contains("/ws/"))
        .expect("a WebSocket address")
        .clone();
    verify_over(ws).await;
    verify_over(webrtc.clone()).await;

    // The certificate is kept: after a restart the certhash (and the peer id) are the same.
    relay.kill();
    let relay = Relay::start(dir.path(), &["--demo-every-ms", "0"]);
    let url = relay.url.clone();
    let again = tokio::task::spawn_blocking(move || addresses(&url))
        .await
        .unwrap();
    let certhash = |a: &Multiaddr| {
        let s = a.to_string();
        s[s.find("/certhash/").unwrap()..].to_string()
    };
    let webrtc2 = again
        .iter()
        .find(|a| a.to_string().contains("/webrtc-direct/"))
        .unwrap();
    assert_eq!(
        certhash(webrtc2),
        certhash(&webrtc),
        "certhash changed across restart"
    );
}
