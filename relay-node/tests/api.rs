//! The HTTP API and the command-line tools, against the real binary.

mod common;

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use trustchain_core::scenario::contract::Contract;

fn relay_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trustchain-relay"))
}

fn wait_record(url: &str, scenario: &str, index: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get_json(&format!(
            "{url}/v1/scenarios/{}/records/{index}",
            enc(scenario)
        ));
        if status == 200 {
            return body;
        }
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"], "not_anchored_yet");
        assert!(Instant::now() < deadline, "record {index} never anchored");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Runs the binary with `args` and `input` on stdin; returns its output.
fn run_with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `trustchain-relay verify` with the receipt on stdin; returns (exit code, stdout).
fn verify_cli(receipt: &str, trust: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let mut cmd = relay_bin();
    cmd.args(["verify", "--receipt", "-", "--trust"])
        .arg(trust)
        .args(extra);
    let out = run_with_stdin(cmd, receipt);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn demo_relay_serves_records_proofs_and_receipts_that_verify_offline() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path(), &["--demo-every-ms", "200"]);
    let url = &relay.url;

    let (status, st) = get_json(&format!("{url}/v1/status"));
    assert_eq!(status, 200);
    assert!(
        st["chain_id"]
            .as_str()
            .unwrap()
            .starts_with("trustchain-dev-")
    );

    let (_, list) = get_json(&format!("{url}/v1/scenarios"));
    let demo = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "demo/budget")
        .expect("demo scenario listed");
    assert!(demo["size"].as_u64().unwrap() >= 100, "{demo}");

    let (status, iface) = get_text(&format!("{url}/v1/scenarios/demo%2Fbudget/interface"));
    assert_eq!(status, 200);
    for needle in [
        "Record kind `payment`",
        "line_exists",
        "approver",
        "Digest only",
    ] {
        assert!(iface.contains(needle), "interface lacks {needle}:\n{iface}");
    }

    let rec = wait_record(url, "demo/budget", 17);
    assert_eq!(rec["index"], 17);
    assert_eq!(rec["entry"]["entry"], "contract");
    let receipt = rec["receipt"].as_str().unwrap().to_string();
    assert!(receipt.len() < 4096, "receipt of {} chars", receipt.len());

    // Offline verification with the CLI, against a trust file saved from the relay.
    let (_, trust) = get_json(&format!("{url}/v1/trust"));
    let trust_path = dir.path().join("trust.json");
    std::fs::write(&trust_path, trust.to_string()).unwrap();
    // Without the charter the proof holds but the rules were not checked: not "verified"
    // (issue 11 §6: no charter, no green — exit 3).
    let (code, out) = verify_cli(&receipt, &trust_path, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("PROOF HOLDS, RULES NOT CHECKED: record 17 of demo/budget"),
        "{out}"
    );
    assert!(!out.contains("VERIFIED:"), "{out}");

    // With the charter, the schema and rules are checked too.
    let charter_path = dir.path().join("charter.json");
    let (_, sc) = get_json(&format!("{url}/v1/scenarios/demo%2Fbudget"));
    std::fs::write(&charter_path, sc.to_string()).unwrap();
    let (code, out) = verify_cli(
        &receipt,
        &trust_path,
        &["--charter", charter_path.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok   rules"), "{out}");
    assert!(out.contains("VERIFIED: record 17 of demo/budget"), "{out}");

    // One flipped byte anywhere: rejected, naming a step.
    let bytes = trustchain_core::verify::receipt::from_base64url(&receipt).unwrap();
    let mut raw = trustchain_core::verify::receipt::to_bytes(&bytes);
    for pos in [40usize, raw.len() / 2, raw.len() - 10] {
        raw[pos] ^= 0x01;
        let bad = base64url(&raw);
        let (code, out) = verify_cli(&bad, &trust_path, &[]);
        assert_eq!(code, 1, "flipped byte {pos} accepted:\n{out}");
        assert!(out.contains("FAIL"), "{out}");
        assert!(out.contains("NOT VERIFIED"), "{out}");
        raw[pos] ^= 0x01;
    }

    // Consistency between the first checkpoint and the latest.
    let (_, cps) = get_json(&format!("{url}/v1/scenarios/demo%2Fbudget/checkpoints"));
    let first = cps["checkpoints"][0]["size"].as_u64().unwrap();
    let (status, cons) = get_json(&format!(
        "{url}/v1/scenarios/demo%2Fbudget/consistency?from={first}"
    ));
    assert_eq!(status, 200, "{cons}");
    let proof: trustchain_core::merkle::log::ConsistencyProof =
        serde_json::from_value(cons["proof"].clone()).unwrap();
    let from_root: trustchain_core::crypto::hash::Hash =
        serde_json::from_value(cons["from"]["root"].clone()).unwrap();
    let to_root: trustchain_core::crypto::hash::Hash =
        serde_json::from_value(cons["to"]["root"].clone()).unwrap();
    proof.verify(&from_root, &to_root).unwrap();

    let (status, b0) = get_json(&format!("{url}/v1/main/blocks/0"));
    assert_eq!(status, 200);
    assert_eq!(b0["block"]["header"]["height"], 0);
    let (status, _) = get_json(&format!("{url}/v1/main/blocks/999999999"));
    assert_eq!(status, 404);
    blocks_as_bytes_and_equivocation_evidence(url, dir.path(), &trust_path);
    let (_, epochs) = get_json(&format!("{url}/v1/main/epochs"));
    assert_eq!(
        epochs["epochs"][0]["validators"].as_array().unwrap().len(),
        1
    );

    // The chain keeps moving: the demo adds payments, blocks follow.
    let h0 = st["head"]["height"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, st) = get_json(&format!("{url}/v1/status"));
        if st["head"]["height"].as_u64().unwrap() > h0 + 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no new blocks");
        std::thread::sleep(Duration::from_millis(50));
    }

    let (status, m) = get_text(&format!("{url}/metrics"));
    assert_eq!(status, 200);
    assert!(m.contains("trustchain_head_height"), "{m}");

    // The live head stream delivers a head event.
    let mut res = agent().get(&format!("{url}/v1/heads")).call().unwrap();
    let mut reader = res.body_mut().as_reader();
    let mut buf = [0u8; 512];
    let mut got = String::new();
    while !got.contains("event: head") {
        let n = reader.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.contains("\"height\""), "{got}");
}

fn get_bytes(url: &str) -> (u16, Vec<u8>) {
    let mut res = agent().get(url).call().expect("GET");
    let status = res.status().as_u16();
    (status, res.body_mut().read_to_vec().unwrap_or_default())
}

/// `?format=bytes` on the head and on a block: the wire encoding, whose certificate verifies
/// under the trusted set. Then equivocation evidence built with the dev validator's own key (two
/// certified blocks at one height) is proven by `verify --evidence`; evidence of one block twice,
/// or under another validator set, is not.
fn blocks_as_bytes_and_equivocation_evidence(
    url: &str,
    data_dir: &std::path::Path,
    trust_path: &std::path::Path,
) {
    use trustchain_core::chain::block::CommitCertificate;
    use trustchain_core::encoding::{Decode as _, Encode as _};
    use trustchain_core::verify::light_client::{
        EquivocationEvidence, LightClient, TrustedCheckpoint,
    };
    use trustchain_core::verify::wire::{FRAME_LIMITS, Response};

    let trust: TrustedCheckpoint =
        serde_json::from_slice(&std::fs::read(trust_path).unwrap()).unwrap();
    let mut lc = LightClient::new(trust.clone());
    let mut blocks = Vec::new();
    for path in ["main/head", "main/blocks/1"] {
        let (status, bytes) = get_bytes(&format!("{url}/v1/{path}?format=bytes"));
        assert_eq!(status, 200, "{path}");
        let Ok(Response::Block {
            header,
            certificate,
        }) = Response::from_bytes_with(&bytes, FRAME_LIMITS)
        else {
            panic!("{path}?format=bytes is not a wire block");
        };
        lc.verify_header(&header, &certificate).unwrap();
        blocks.push((header, certificate));
    }
    assert_eq!(blocks[1].0.height, 1);
    let (status, body) = get_json(&format!("{url}/v1/main/head?format=xml"));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "bad_format");

    // The validator's key signs a second block at height 1: a fork.
    let key_hex = std::fs::read_to_string(data_dir.join("node.key")).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(
        &trustchain_core::encoding::hex::decode_array::<32>(key_hex.trim(), "key").unwrap(),
    );
    let (first, first_certificate) = blocks[1].clone();
    let mut second = first.clone();
    second.time_ms += 1;
    let second_certificate = CommitCertificate::sign(&second, 0, &trust.validators, &[&key]);
    let check = |ev: &EquivocationEvidence, name: &str| {
        let file = data_dir.join(name);
        let json = serde_json::json!({ "kind": "trustchain/equivocation-evidence",
            "bytes": trustchain_core::encoding::hex::encode(&ev.to_bytes()) });
        std::fs::write(&file, json.to_string()).unwrap();
        let out = relay_bin()
            .args(["verify", "--evidence"])
            .arg(&file)
            .arg("--trust")
            .arg(trust_path)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let fork = EquivocationEvidence {
        first: first.clone(),
        first_certificate: first_certificate.clone(),
        second,
        second_certificate,
    };
    let (code, out) = check(&fork, "fork.json");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("EQUIVOCATION PROVEN"), "{out}");
    let same = EquivocationEvidence {
        first: first.clone(),
        first_certificate: first_certificate.clone(),
        second: first,
        second_certificate: first_certificate,
    };
    let (code, out) = check(&same, "same.json");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT PROVEN"), "{out}");
    // A forged vote (another key) does not prove anything either.
    let mut forged = fork.clone();
    forged.second_certificate =
        CommitCertificate::sign(&forged.second, 0, &trust.validators, &[&key_of(9)]);
    let (code, out) = check(&forged, "forged.json");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT PROVEN"), "{out}");
}

fn key_of(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

fn base64url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[test]
fn ingestion_refuses_bad_contracts_with_errors_that_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    // Blocks every 100 s: nothing gets anchored during this test.
    let relay = Relay::start(dir.path(), &["--no-demo", "--block-interval-ms", "100000"]);
    let url = &relay.url;
    let owner = key(1);
    let writer = key(2);
    let stranger = key(3);
    let post = |batch: &[Contract]| {
        post_json(
            &format!("{url}/v1/scenarios/{}/contracts", enc(SCENARIO)),
            &batch,
        )
        .unwrap()
    };

    // Unknown scenario.
    let (status, body) = post(&[entry(&writer, 1, 1, "w")]);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (404, "unknown_scenario"),
        "{body}"
    );

    let ch = charter(&owner, &[trustchain_core::crypto::PublicKey::of(&writer)]);
    let (status, body) = post_json(&format!("{url}/v1/scenarios"), &ch).unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) = post_json(&format!("{url}/v1/scenarios"), &ch).unwrap();
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (409, "scenario_exists")
    );

    // A charter whose rule tree is not the compilation of the source people read: refused.
    let mut forged = charter(&owner, &[trustchain_core::crypto::PublicKey::of(&writer)]);
    forged.content.scenario =
        trustchain_core::encoding::value::ScenarioId::new("test/forged").unwrap();
    forged.content.kinds[0].rules[0].source = "n < 5".into();
    let forged = forged.content.sign(&owner);
    let (status, body) = post_json(&format!("{url}/v1/scenarios"), &forged).unwrap();
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "bad_charter"),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not the compilation"),
        "{body}"
    );

    // A good one.
    let (status, body) = post(&[entry(&writer, 1, 1, "w")]);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["indices"][0], 1);

    // Bad signature.
    let mut forged = entry(&writer, 2, 2, "w");
    forged.signature.0[5] ^= 1;
    let (status, body) = post(&[forged]);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (401, "bad_signature"),
        "{body}"
    );

    // Unauthorised author.
    let (status, body) = post(&[entry(&stranger, 1, 1, "s")]);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (403, "unauthorised_author"),
        "{body}"
    );

    // Schema violation names the field.
    let (status, body) = post(&[entry(&writer, 3, -1, "w")]);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "schema_violation"),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("`n`"), "{body}");

    // Rule violation names the rule and the field.
    let (status, body) = post(&[entry(&writer, 4, 2_000_000_000, "w")]);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "rule_violation"),
        "{body}"
    );
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains("n_small") && msg.contains("\"n\""), "{msg}");

    // Replayed nonce, alone and within one batch.
    let (status, body) = post(&[entry(&writer, 1, 5, "w")]);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (409, "replayed_nonce"),
        "{body}"
    );
    let (status, body) = post(&[entry(&writer, 7, 5, "w"), entry(&writer, 7, 6, "w")]);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (409, "replayed_nonce"),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().starts_with("contract 1:"),
        "{body}"
    );

    // A bad item refuses the whole batch: nothing of it is written.
    let (status, _) = post(&[entry(&writer, 8, 1, "w"), entry(&writer, 9, -5, "w")]);
    assert_eq!(status, 422);
    let (status, body) = post(&[entry(&writer, 8, 1, "w")]);
    assert_eq!(
        status, 201,
        "nonce 8 was consumed by a refused batch: {body}"
    );

    // The same, as a canonical batch (connectors' fast path): accepted, and garbage is refused.
    let url_contracts = format!("{url}/v1/scenarios/{}/contracts", enc(SCENARIO));
    let send_canonical = |bytes: &[u8]| {
        let mut res = agent()
            .post(&url_contracts)
            .content_type(trustchain_relay::api::CANONICAL_BATCH)
            .send(bytes)
            .unwrap();
        let status = res.status().as_u16();
        (
            status,
            res.body_mut().read_json::<serde_json::Value>().unwrap(),
        )
    };
    let batch = vec![entry(&writer, 20, 1, "w"), entry(&writer, 21, 2, "w")];
    let (status, body) = send_canonical(&trustchain_core::encoding::Encode::to_bytes(&batch));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["indices"].as_array().unwrap().len(), 2);
    let (status, body) = send_canonical(&[0, 0, 0, 1, 9, 9, 9]);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (400, "bad_encoding"),
        "{body}"
    );

    // A contract too large to be stored as an entry (it could never be read back): refused.
    let mut big = trustchain_core::encoding::value::Fields::new();
    for i in 0..20 {
        big.insert(
            format!("f{i:02}"),
            trustchain_core::encoding::value::Value::Text("x".repeat(60_000)),
        );
    }
    let huge = trustchain_core::scenario::contract::UnsignedContract {
        scenario: scenario(),
        kind: "entry".into(),
        author: trustchain_core::crypto::PublicKey::of(&writer),
        nonce: 30,
        time_ms: 1,
        body: trustchain_core::scenario::contract::Body::Fields(big),
        attachments: vec![],
    }
    .sign(&writer);
    let (status, body) = send_canonical(&trustchain_core::encoding::Encode::to_bytes(&vec![huge]));
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (413, "contract_too_large"),
        "{body}"
    );

    // Oversized batch.
    let many: Vec<Contract> = (0..1001)
        .map(|i| entry(&writer, 10_000 + i, 1, "w"))
        .collect();
    let (status, body) = post(&many);
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (413, "batch_too_large"),
        "{body}"
    );

    // Not JSON / not a contract.
    let (status, body) = post_json(
        &format!("{url}/v1/scenarios/{}/contracts", enc(SCENARIO)),
        &serde_json::json!({"hello": 1}),
    )
    .unwrap();
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (400, "bad_json"),
        "{body}"
    );

    // Accepted but not anchored yet: a clear answer, not a proof.
    let (status, body) = get_json(&format!("{url}/v1/scenarios/{}/records/1", enc(SCENARIO)));
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (409, "not_anchored_yet"),
        "{body}"
    );
    let (status, body) = get_json(&format!("{url}/v1/scenarios/{}/records/99", enc(SCENARIO)));
    assert_eq!(status, 404, "{body}");
    let (status, body) = get_json(&format!("{url}/v1/scenarios/Bad%2Fid"));
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (400, "bad_scenario_id"),
        "{body}"
    );
}

#[test]
fn cli_key_and_submit() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path(), &["--demo-every-ms", "0", "--demo-records", "5"]);
    let key_path = dir.path().join("treasurer.key");
    // The demo's treasurer key lives in the data dir; `key show` prints its public key.
    let out = relay_bin()
        .args(["key", "show"])
        .arg(dir.path().join("demo-treasurer.key"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim().len(), 64);
    std::fs::copy(dir.path().join("demo-treasurer.key"), &key_path).unwrap();

    let out = relay_bin()
        .args(["key", "new", "--out"])
        .arg(dir.path().join("new.key"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = relay_bin()
        .args(["key", "new", "--out"])
        .arg(dir.path().join("new.key"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "key new must not overwrite");

    let submit = |json: &str| {
        let mut cmd = relay_bin();
        cmd.args([
            "submit",
            "--relay",
            &relay.url,
            "--scenario",
            "demo/budget",
            "--kind",
            "payment",
            "--key",
        ])
        .arg(&key_path);
        run_with_stdin(cmd, json)
    };
    let ok = submit(
        r#"{"budget_line":"BL-02","amount":"1250.00","currency":"CNY","payee":"Jiangbei Roofing Ltd.","approver":"Li Na","approved":true}"#,
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("\"indices\""));

    let bad = submit(
        r#"{"budget_line":"BL-99","amount":"10.00","currency":"CNY","payee":"X","approver":"Li Na","approved":true}"#,
    );
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("line_exists"), "{err}");

    let float = submit(
        r#"{"budget_line":"BL-02","amount":10.5,"currency":"CNY","payee":"X","approver":"Li Na","approved":true}"#,
    );
    assert_eq!(float.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&float.stderr).contains("write decimals as strings"));
}

/// Issue 11 §9: a charter must be signed by every owner it names; the scenario listing is paged;
/// one client cannot hold more than its share of connections, and gets a clear 429 beyond it.
#[test]
fn founding_needs_every_owner_listings_are_paged_and_connections_bounded() {
    use std::net::TcpStream;
    use trustchain_core::crypto::PublicKey;
    use trustchain_relay::api::limits::MAX_PER_CLIENT;

    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path(), &["--no-demo", "--block-interval-ms", "100000"]);
    let url = &relay.url;
    let owner = key(1);
    let victim = key(9);

    // Naming another's key as co-owner without its signature: refused, nothing founded.
    let id = trustchain_core::encoding::value::ScenarioId::new("test/co-owned").unwrap();
    let mut ch = charter_of(&id, &owner, &[]);
    ch.content.owners.push(PublicKey::of(&victim));
    let one = ch.content.clone().sign(&owner);
    let (status, body) = post_json(&format!("{url}/v1/scenarios"), &one).unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("bad_charter_signature")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&PublicKey::of(&victim).to_hex()),
        "the message names the owner whose signature is missing: {body}"
    );
    let (status, _) = get_json(&format!("{url}/v1/scenarios/{}", enc(id.as_str())));
    assert_eq!(status, 404);
    // Signed by both: founded.
    let both = ch.content.clone().sign_all(&[&owner, &victim]);
    let (status, body) = post_json(&format!("{url}/v1/scenarios"), &both).unwrap();
    assert_eq!(status, 201, "{body}");

    // Paging: five scenarios, pages of two, linked by `Link: rel="next"`.
    for i in 0..4 {
        let id =
            trustchain_core::encoding::value::ScenarioId::new(&format!("test/page-{i}")).unwrap();
        let (status, body) = post_json(
            &format!("{url}/v1/scenarios"),
            &charter_of(&id, &owner, &[]),
        )
        .unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let mut seen = Vec::new();
    let mut next = Some(format!("{url}/v1/scenarios?limit=2"));
    while let Some(page) = next.take() {
        let mut res = agent().get(&page).call().unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let link = res
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let items: Vec<serde_json::Value> = res.body_mut().read_json().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|s| s["id"].as_str().unwrap().to_string()));
        next = link.map(|l| {
            let path = l.trim_start_matches('<').split('>').next().unwrap();
            format!("{url}{path}")
        });
        assert!(seen.len() <= 5, "paging does not end: {seen:?}");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "ascending, each once");
    assert_eq!(seen.len(), 5, "{seen:?}");
    let (status, body) = get_json(&format!("{url}/v1/scenarios?limit=0"));
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_limit")));

    // Connections: one client may hold MAX_PER_CLIENT open; the next is told 429 and why.
    let addr = url.trim_start_matches("http://");
    let held: Vec<TcpStream> = (0..MAX_PER_CLIENT)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    // The relay counts a connection when it accepts it: wait until all are counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        let mut extra = TcpStream::connect(addr).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = extra.write_all(b"GET /v1/status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        let mut answer = String::new();
        let _ = extra.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 429") || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"));
    assert!(answer.contains("too_many_client_connections"), "{answer}");
    drop(held);
    // Released: served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = get_text(&format!("{url}/v1/status"));
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never served again");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, metrics) = get_text(&format!("{url}/metrics"));
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("trustchain_http_refused_total ") && !l.ends_with(" 0")),
        "refusals are counted"
    );
}

/// GET returning (status, headers, body).
fn get_with_headers(url: &str) -> (u16, ureq::http::HeaderMap, String) {
    let mut res = agent().get(url).call().expect("GET");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (
        status,
        headers,
        res.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn every_page_and_file_the_relay_serves_carries_a_strict_csp_and_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let web = tempfile::tempdir().unwrap();
    for (path, text) in [
        ("demo/index.html", "<!doctype html><p>demo"),
        ("verify/index.html", "<!doctype html><p>verify"),
        ("explorer/index.html", "<!doctype html><p>explorer"),
        ("widget/trust-verify.js", "export {};"),
    ] {
        let p = web.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let relay = Relay::start(
        dir.path(),
        &[
            "--web-dir",
            web.path().to_str().unwrap(),
            "--demo-every-ms",
            "0",
        ],
    );
    let url = &relay.url;
    // Every kind of page: the landing page, the static pages, the explorer's app route.
    for page in [
        "/",
        "/demo/",
        "/demo/?relay=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "/verify/",
        "/explorer/",
        "/explorer/scenarios/demo%2Fbudget/records/1",
    ] {
        let (status, h, _) = get_with_headers(&format!("{url}{page}"));
        assert_eq!(status, 200, "{page}");
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{page}: no CSP"))
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{page}: {csp}"
        );
        assert!(
            !csp.split(';')
                .any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")),
            "{page}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        assert!(
            csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"),
            "{page}: {csp}"
        );
        assert!(
            csp.contains("connect-src 'self' http: https: ws: wss:"),
            "{page}: {csp}"
        );
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{page}"
        );
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer", "{page}");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{page}");
    }
    // A reload revalidates the cached page: the 304 carries no policy of its own (the browser
    // merges a 304's headers into the cached page; a file policy there sandboxed the reloaded
    // page — seen in the devnet e2e test).
    let (_, h, _) = get_with_headers(&format!("{url}/demo/"));
    let modified = h
        .get("last-modified")
        .expect("ServeDir sends Last-Modified")
        .clone();
    let res = agent()
        .get(&format!("{url}/demo/"))
        .header("if-modified-since", modified)
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 304);
    assert!(res.headers().get("content-security-policy").is_none());
    // Files and the API: nothing runs if one is opened as a document; CORS still lets other
    // sites load the widget and read the API.
    for file in [
        "/widget/trust-verify.js",
        "/widget/network.json",
        "/v1/status",
        "/v1/trust",
        "/v1/scenarios/demo%2Fbudget/records/1?format=receipt",
        "/v1/nothing-here",
    ] {
        let (_, h, _) = get_with_headers(&format!("{url}{file}"));
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{file}: no CSP"))
            .to_str()
            .unwrap();
        assert!(
            csp.starts_with("default-src 'none'") && csp.contains("sandbox"),
            "{file}: {csp}"
        );
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{file}"
        );
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer", "{file}");
        assert_eq!(h.get("access-control-allow-origin").unwrap(), "*", "{file}");
    }
}

#[test]
fn the_relay_serves_its_network_spec_beside_the_widget() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path(), &["--demo-every-ms", "0"]);
    let url = &relay.url;
    let (status, spec) = get_json(&format!("{url}/widget/network.json"));
    assert_eq!(status, 200, "{spec}");
    assert_eq!(spec["kind"], "trustchain/network-spec");
    let (_, st) = get_json(&format!("{url}/v1/status"));
    assert_eq!(spec["chain_id"], st["chain_id"]);
    assert_eq!(spec["checkpoint"]["chain_id"], st["chain_id"]);
    let (_, genesis) = get_json(&format!("{url}/v1/main/blocks/0"));
    assert_eq!(spec["genesis"], genesis["hash"]);
    // The checkpoint is one a light client can start from.
    let cp: trustchain_core::verify::light_client::TrustedCheckpoint =
        serde_json::from_value(spec["checkpoint"].clone()).unwrap();
    assert!(!cp.validators.validators.is_empty());
}

#[test]
fn a_trust_file_with_a_malformed_validator_set_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path(), &["--demo-every-ms", "0"]);
    let url = &relay.url;
    let receipt = wait_receipt(url, 3);
    let (_, trust) = get_json(&format!("{url}/v1/trust"));
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("good.json");
    std::fs::write(&good, trust.to_string()).unwrap();
    // The proof holds (exit 3: no charter given, so its rules are not checked).
    let (code, out) = verify_cli(&receipt, &good, &[]);
    assert_eq!(code, 3, "{out}");
    // The same validator twice, a zero weight, no validator at all: JSON reads them, the
    // validator set's checks refuse them.
    let v = trust["validators"]["validators"][0].clone();
    let mut zero = v.clone();
    zero["weight"] = 0.into();
    for (name, list) in [
        ("duplicated", serde_json::json!([v.clone(), v.clone()])),
        ("zero-weight", serde_json::json!([zero])),
        ("empty", serde_json::json!([])),
    ] {
        let mut bad = trust.clone();
        bad["validators"]["validators"] = list;
        let path = work.path().join(format!("{name}.json"));
        std::fs::write(&path, bad.to_string()).unwrap();
        // The receipt from a file: the refusal comes before stdin would be read.
        let receipt_file = work.path().join("r.txt");
        std::fs::write(&receipt_file, &receipt).unwrap();
        let out = relay_bin()
            .arg("verify")
            .arg("--receipt")
            .arg(&receipt_file)
            .arg("--trust")
            .arg(&path)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(!out.status.success(), "{name}: {stdout}");
        assert!(!stdout.contains("VERIFIED"), "{name}: {stdout}");
        // Refused as a trust file, before any proof is looked at.
        assert!(
            stderr.contains("not a usable trusted checkpoint"),
            "{name}: {stderr}"
        );
    }
}

/// The receipt of record `index` of demo/budget, once it is anchored.
fn wait_receipt(url: &str, index: u64) -> String {
    wait_record(url, "demo/budget", index);
    let (status, text) = get_text(&format!(
        "{url}/v1/scenarios/demo%2Fbudget/records/{index}?format=receipt"
    ));
    assert_eq!(status, 200, "{text}");
    text
}
