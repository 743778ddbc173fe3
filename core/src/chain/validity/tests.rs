//! The attacks of issue 11 §1 against the anchoring predicates, each refused, and the honest
//! paths accepted.

use super::*;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use crate::chain::placement::{DEFAULT_REPLICAS, replicas};
use crate::crypto::hash::{Domain, Hash};
use crate::encoding::value::ScenarioId;
use crate::merkle::log::MemoryLog;
use crate::scenario::checkpoint::Checkpoint;

fn sk(i: u32) -> SigningKey {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    b[31] = 0x77;
    SigningKey::from_bytes(&b)
}

fn key(i: u32) -> PublicKey {
    PublicKey::of(&sk(i))
}

fn member(i: u32, region: &str) -> Member {
    Member {
        key: key(i),
        region: region.to_string(),
        capacity: 1,
    }
}

fn sid(i: u32) -> ScenarioId {
    ScenarioId::new(&format!("acme/s-{i}")).unwrap()
}

fn log_of(n: u64, salt: u8) -> MemoryLog {
    let mut log = MemoryLog::new();
    for i in 0..n {
        log.append(Domain::Checkpoint.hash(&[&i.to_le_bytes()[..], &[salt]].concat()));
    }
    log
}

fn checkpoint(s: &ScenarioId, log: &MemoryLog) -> Checkpoint {
    Checkpoint {
        scenario: s.clone(),
        size: log.size(),
        root: log.root(),
        main_ref: Hash([1; 32]),
        time_ms: 1_700_000_000_000,
    }
}

/// `c` signed by the members with the given indices, with `link`.
fn signed(c: Checkpoint, signers: &[u32], link: Option<Link>) -> SignedCheckpoint {
    let keys: Vec<SigningKey> = signers.iter().map(|i| sk(*i)).collect();
    let refs: Vec<&SigningKey> = keys.iter().collect();
    let mut cp = c.sign(&refs);
    cp.link = link;
    cp
}

fn index_of(k: &PublicKey) -> u32 {
    (0..1000).find(|i| key(*i) == *k).unwrap()
}

#[test]
fn founding_and_extending_pass() {
    let members: Vec<Member> = (0..6).map(|i| member(i, "eu")).collect();
    let s = sid(1);
    let home = key(0);
    let set = replicas(&s, &home, &members, DEFAULT_REPLICAS);
    let r0 = index_of(&set[0]);
    let log = log_of(5, 0);
    let found = signed(checkpoint(&s, &log), &[0, r0], Some(Link::Found { home }));
    assert_eq!(
        check_anchoring(None, &found, |_| members.clone(), DEFAULT_REPLICAS),
        Ok(home)
    );
    // The next checkpoint extends it with a consistency proof; the replicas alone are a quorum
    // of the recorded set too.
    let log9 = log_of(9, 0);
    let proof = log9.prove_consistency(5, 9).unwrap();
    let next_cp = checkpoint(&s, &log9);
    let next = signed(
        next_cp,
        &[index_of(&set[0]), index_of(&set[1])],
        Some(Link::Extend { proof }),
    );
    let anchored = Anchored {
        checkpoint: &found.checkpoint,
        home: &home,
    };
    assert_eq!(
        check_anchoring(Some(anchored), &next, |_| members.clone(), DEFAULT_REPLICAS),
        Ok(home)
    );
}

/// A relay alone in its region, signing alone for a scenario homed elsewhere: today's rule
/// accepted its single signature for any scenario and any size.
#[test]
fn lone_region_member_cannot_anchor_another_scenario() {
    let mut members: Vec<Member> = (0..3).map(|i| member(i, "eu")).collect();
    members.push(member(50, "ap"));
    let s = sid(2);
    let home = key(0);
    let genuine = log_of(4, 0);
    let found = checkpoint(&s, &genuine);
    let anchored = Anchored {
        checkpoint: &found,
        home: &home,
    };
    // A forged log from index 0, with a "consistency proof" from its own smaller tree.
    let forged = log_of(8, 9);
    let proof = forged.prove_consistency(4, 8).unwrap();
    let cp = signed(checkpoint(&s, &forged), &[50], Some(Link::Extend { proof }));
    assert!(matches!(
        signed_by_replica_set(&home, &cp, &members, DEFAULT_REPLICAS),
        Err(AnchorError::NotInSet { .. })
    ));
    assert!(check_anchoring(Some(anchored), &cp, |_| members.clone(), DEFAULT_REPLICAS).is_err());
    // Claiming to found it again is refused outright.
    let refound = signed(
        checkpoint(&s, &forged),
        &[50],
        Some(Link::Found { home: key(50) }),
    );
    assert_eq!(
        check_anchoring(
            Some(anchored),
            &refound,
            |_| members.clone(),
            DEFAULT_REPLICAS
        ),
        Err(AnchorError::AlreadyFounded)
    );
}

/// In a 6-member region an outsider plus one member of the real replica set passed as
/// "home + replica" (300 such pairs over 50 scenarios): with the home recorded, none does.
#[test]
fn outsider_with_one_replica_is_refused() {
    let members: Vec<Member> = (0..6).map(|i| member(i, "eu")).collect();
    let mut tried = 0;
    for n in 0..50 {
        let s = sid(100 + n);
        let home = key(n % 6);
        let set = replicas(&s, &home, &members, DEFAULT_REPLICAS);
        let log = log_of(3, 0);
        let c = checkpoint(&s, &log);
        let anchored_cp = c.clone();
        let anchored = Anchored {
            checkpoint: &anchored_cp,
            home: &home,
        };
        let log2 = log_of(6, 0);
        let proof = log2.prove_consistency(3, 6).unwrap();
        for outsider in members
            .iter()
            .map(|m| m.key)
            .filter(|k| *k != home && !set.contains(k))
        {
            for r in &set {
                let cp = signed(
                    checkpoint(&s, &log2),
                    &[index_of(&outsider), index_of(r)],
                    Some(Link::Extend {
                        proof: proof.clone(),
                    }),
                );
                assert_eq!(
                    check_anchoring(Some(anchored), &cp, |_| members.clone(), DEFAULT_REPLICAS),
                    Err(AnchorError::NotInSet {
                        key: outsider,
                        home
                    })
                );
                tried += 1;
            }
        }
    }
    assert_eq!(tried, 50 * 3 * 2);
}

/// A checkpoint of size `u64::MAX` froze its scenario for good.
#[test]
fn frozen_size_is_refused() {
    let members: Vec<Member> = (0..3).map(|i| member(i, "eu")).collect();
    let s = sid(3);
    let home = key(0);
    let mut c = checkpoint(&s, &log_of(2, 0));
    c.size = u64::MAX;
    let cp = signed(c.clone(), &[0, 1, 2], Some(Link::Found { home }));
    assert_eq!(
        check_anchoring(None, &cp, |_| members.clone(), DEFAULT_REPLICAS),
        Err(AnchorError::Size { size: u64::MAX })
    );
    c.size = MAX_LOG_SIZE + 1;
    let cp = signed(c, &[0, 1, 2], Some(Link::Found { home }));
    assert!(matches!(
        extends_anchored(None, &cp),
        Err(AnchorError::Size { .. })
    ));
    let mut empty = checkpoint(&s, &log_of(0, 0));
    empty.size = 0;
    assert!(matches!(
        extends_anchored(None, &signed(empty, &[0], None)),
        Err(AnchorError::Size { size: 0 })
    ));
}

/// The scenario's own replica set rewriting history: a larger log that does not start with the
/// anchored one has no consistency proof from the anchored root.
#[test]
fn rewritten_history_is_refused() {
    let s = sid(4);
    let anchored = checkpoint(&s, &log_of(5, 0));
    let rewritten = log_of(9, 1);
    let proof = rewritten.prove_consistency(5, 9).unwrap();
    let cp = signed(
        checkpoint(&s, &rewritten),
        &[0],
        Some(Link::Extend { proof }),
    );
    assert!(matches!(
        extends_anchored(Some(&anchored), &cp),
        Err(AnchorError::Inconsistent(_))
    ));
    // Proof for other sizes, no proof, not newer.
    let genuine = log_of(9, 0);
    let cp = signed(
        checkpoint(&s, &genuine),
        &[0],
        Some(Link::Extend {
            proof: genuine.prove_consistency(4, 9).unwrap(),
        }),
    );
    assert!(matches!(
        extends_anchored(Some(&anchored), &cp),
        Err(AnchorError::ProofSizes { from: 4, .. })
    ));
    let cp = signed(checkpoint(&s, &genuine), &[0], None);
    assert_eq!(
        extends_anchored(Some(&anchored), &cp),
        Err(AnchorError::NoLink)
    );
    let same = signed(anchored.clone(), &[0], None);
    assert!(matches!(
        extends_anchored(Some(&anchored), &same),
        Err(AnchorError::NotNewer { .. })
    ));
}

#[test]
fn founding_needs_the_home_signature_and_quorum() {
    let members: Vec<Member> = (0..6).map(|i| member(i, "eu")).collect();
    let s = sid(5);
    let home = key(0);
    let set = replicas(&s, &home, &members, DEFAULT_REPLICAS);
    let log = log_of(2, 0);
    let c = checkpoint(&s, &log);
    // Named home, but only its replicas signed.
    let cp = signed(
        c.clone(),
        &[index_of(&set[0]), index_of(&set[1])],
        Some(Link::Found { home }),
    );
    assert_eq!(home_of(None, &cp), Err(AnchorError::HomeUnsigned { home }));
    // The home alone: below the quorum of a full region.
    let cp = signed(c.clone(), &[0], Some(Link::Found { home }));
    assert_eq!(
        check_anchoring(None, &cp, |_| members.clone(), DEFAULT_REPLICAS),
        Err(AnchorError::TooFew {
            signed: 1,
            needed: 2
        })
    );
    // No link, or an extension of nothing.
    let cp = signed(c.clone(), &[0], None);
    assert_eq!(home_of(None, &cp), Err(AnchorError::NoLink));
    let cp = signed(
        c,
        &[0],
        Some(Link::Extend {
            proof: log.prove_consistency(1, 2).unwrap(),
        }),
    );
    assert_eq!(home_of(None, &cp), Err(AnchorError::NotFounded));
    // A home alone in its region founds and extends alone.
    let lonely = vec![member(0, "eu"), member(50, "ap")];
    let cp = signed(
        checkpoint(&s, &log),
        &[50],
        Some(Link::Found { home: key(50) }),
    );
    assert_eq!(
        check_anchoring(None, &cp, |_| lonely.clone(), DEFAULT_REPLICAS),
        Ok(key(50))
    );
}

proptest! {
    /// Any extension of the anchored log is accepted; changing any one entry of the anchored
    /// prefix makes it inconsistent.
    #[test]
    fn consistency_accepts_growth_refuses_rewrites(
        a in 1u64..40,
        extra in 1u64..40,
        flip in any::<prop::sample::Index>(),
    ) {
        let s = sid(9);
        let b = a + extra;
        let log = log_of(b, 0);
        let anchored = Checkpoint { size: a, root: log.root_at(a), ..checkpoint(&s, &log) };
        let proof = log.prove_consistency(a, b).unwrap();
        let cp = signed(checkpoint(&s, &log), &[0], Some(Link::Extend { proof }));
        prop_assert_eq!(extends_anchored(Some(&anchored), &cp), Ok(()));

        let at = flip.index(a as usize) as u64;
        let mut forged = MemoryLog::new();
        for i in 0..b {
            let salt = if i == at { 1 } else { 0 };
            forged.append(Domain::Checkpoint.hash(&[&i.to_le_bytes()[..], &[salt]].concat()));
        }
        let proof = forged.prove_consistency(a, b).unwrap();
        let cp = signed(checkpoint(&s, &forged), &[0], Some(Link::Extend { proof }));
        prop_assert!(
            matches!(extends_anchored(Some(&anchored), &cp), Err(AnchorError::Inconsistent(_))),
            "a rewrite at {} of {} passed", at, a
        );
    }
}

#[test]
fn main_ref_must_be_a_recent_block_of_this_chain() {
    let cp = signed(checkpoint(&sid(6), &log_of(2, 0)), &[0], None);
    assert_eq!(main_ref_recent(&cp, Some(99), 100), Ok(()));
    assert!(main_ref_recent(&cp, Some(0), MAX_MAIN_REF_AGE).is_ok());
    assert!(main_ref_recent(&cp, Some(0), MAX_MAIN_REF_AGE + 1).is_err());
    // Not on this chain (a fork's block, or invented), or not before the anchoring block.
    assert!(main_ref_recent(&cp, None, 100).is_err());
    assert!(main_ref_recent(&cp, Some(100), 100).is_err());
    assert!(main_ref_recent(&cp, Some(101), 100).is_err());
}
