//! A relay that lies on purpose, for testing the verifiers that must catch it
//! (`trustchain-relay dev --misbehave …`, hidden from `--help`). Every record proof the relay
//! serves — over HTTP and over libp2p alike — is altered after it was built from the store; the
//! store itself is never touched. Browser tests use it to show that a lying relay is caught over
//! the real transports (WebRTC-direct, WebSocket), where a page cannot intercept the bytes.

use trustchain_core::crypto::Signature;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::proof::RecordProof;

/// How the relay lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Misbehave {
    /// Changes each contract's data after it was signed (its nonce), as a relay rewriting history
    /// would: the signature step fails.
    TamperRecord,
    /// Replaces every vote of the block's commit certificate with a signature the validator
    /// never made: the certificate step fails.
    ForgeCertificate,
    /// Serves honest proofs but alters the records of its *listings* (`GET …/records`): every
    /// contract listed has its data changed, as a relay showing a page of records the chain does
    /// not hold would. A verifier that checks each listed record's inclusion catches it.
    TamperListing,
}

impl Misbehave {
    /// Alters a proof about to be served.
    pub fn apply(self, proof: &mut RecordProof) {
        match self {
            Misbehave::TamperRecord => {
                if let Entry::Contract(c) = &mut proof.entry {
                    c.content.nonce ^= 1;
                }
            }
            Misbehave::ForgeCertificate => {
                for s in &mut proof.certificate.signatures {
                    let mut forged = s.signature.0;
                    forged[0] ^= 0x01;
                    s.signature = Signature(forged);
                }
            }
            Misbehave::TamperListing => {}
        }
    }

    /// Alters a record about to be listed.
    pub fn apply_listed(self, entry: &mut Entry) {
        if self == Misbehave::TamperListing
            && let Entry::Contract(c) = entry
        {
            c.content.nonce ^= 1;
        }
    }
}

/// How a relay of a network lies to the other validators (`trustchain-relay run
/// --misbehave-chain …`, hidden from `--help`): tests of the block-validity rules, which every
/// honest relay must apply to what a byzantine validator proposes and gossips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ChainMisbehave {
    /// Every block this relay proposes, and its gossip, carries a checkpoint the chain must
    /// refuse, in turn: a forged log for a scenario homed at another relay (a valid consistency
    /// proof over the real log plus a forged record, signed by this relay alone), a frozen size
    /// (`u64::MAX`) for one of its own scenarios, and a rewritten history of one of its own
    /// scenarios (another first record, with that log's consistency proof).
    ForgeAnchors,
}

impl ChainMisbehave {
    /// The `n`-th forged checkpoint (the attack is `n % 3`), over `snap`'s anchored scenarios;
    /// `None` while the chain anchors none this relay can forge from.
    pub fn forge(
        self,
        store: &crate::store::Store,
        snap: &trustchain_core::chain::state::ChainSnapshot,
        key: &ed25519_dalek::SigningKey,
        n: u64,
    ) -> Option<trustchain_core::scenario::checkpoint::SignedCheckpoint> {
        use trustchain_core::crypto::PublicKey;
        use trustchain_core::crypto::hash::{Domain, Hash};
        use trustchain_core::merkle::log::{ConsistencyProof, MemoryLog};
        use trustchain_core::scenario::checkpoint::{Checkpoint, Link};

        let me = PublicKey::of(key);
        let view = store.read().ok()?;
        // The anchored scenarios this relay holds (so it can build proofs over their logs),
        // foreign or its own as the attack needs.
        let mut held: Vec<_> = snap
            .homes
            .iter()
            .filter(|(id, home)| {
                (**home == me) != n.is_multiple_of(3) && view.size(id).ok().flatten().is_some()
            })
            .map(|(id, _)| id.clone())
            .collect();
        held.sort();
        let id = held.first()?.clone();
        let anchored = snap.checkpoints.get(&id)?.checkpoint.clone();
        let a = anchored.size;
        let leaves: Vec<Hash> = view
            .entries(&id, 0, a)
            .ok()?
            .into_iter()
            .map(|(_, e)| e.leaf_hash())
            .collect();
        let forged_leaf = Domain::LogLeaf.hash(format!("forged {n}").as_bytes());
        let mut log = MemoryLog::new();
        match n % 3 {
            // A frozen size.
            1 => {
                let mut cp = Checkpoint {
                    scenario: id,
                    size: u64::MAX,
                    root: forged_leaf,
                    main_ref: snap.head_hash,
                    time_ms: anchored.time_ms,
                }
                .sign(&[key]);
                cp.link = Some(Link::Extend {
                    proof: ConsistencyProof {
                        from: a,
                        to: u64::MAX,
                        path: Vec::new(),
                    },
                });
                return Some(cp);
            }
            // A forged record appended to another relay's scenario.
            0 => leaves.iter().for_each(|l| {
                log.append(*l);
            }),
            // Another first record: a rewritten history.
            _ => {
                log.append(forged_leaf);
                leaves.iter().skip(1).for_each(|l| {
                    log.append(*l);
                });
            }
        }
        log.append(forged_leaf);
        let link = Link::Extend {
            proof: log.prove_consistency(a, a + 1).ok()?,
        };
        let mut cp = Checkpoint {
            scenario: id,
            size: a + 1,
            root: log.root(),
            main_ref: snap.head_hash,
            time_ms: anchored.time_ms,
        }
        .sign(&[key]);
        cp.link = Some(link);
        Some(cp)
    }
}
