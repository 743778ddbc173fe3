//! Cross-checking relays: a light client asks several independent relays for their heads, verifies
//! each, and learns which agree, which lag, which serve something invalid — and keeps equivocation
//! evidence when two valid certificates name different blocks at one height.
//!
//! Sans-IO like the rest of core: the caller fetches the heads (over whatever transport) and hands
//! them in; the verdict is plain data the widget and the explorer display.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::Serialize;

use crate::chain::block::{BlockHeader, CommitCertificate};
use crate::crypto::hash::Hash;
use crate::verify::light_client::{LightClient, LightClientError};

/// What one relay answered: its head block and certificate, or why it could not be reached.
pub type RelayAnswer = Result<(BlockHeader, CommitCertificate), String>;

/// How one relay fared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RelayStatus {
    /// Its head is the highest verified head.
    Agrees {
        /// Its head height.
        height: u64,
    },
    /// Its head verified but is below the highest.
    Lags {
        /// Its head height.
        height: u64,
        /// Blocks behind the highest verified head.
        behind: u64,
    },
    /// Its head did not verify (bad certificate, unknown epoch, another chain, …).
    Invalid {
        /// Why.
        reason: String,
    },
    /// Its head conflicts with another certified block at the same height: evidence was kept.
    Equivocates {
        /// The height of the conflict.
        height: u64,
    },
    /// It did not answer.
    Unreachable {
        /// Why.
        reason: String,
    },
}

/// The outcome of asking several relays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CrossCheck {
    /// The highest head that verified, if any.
    pub height: Option<u64>,
    /// Its hash.
    pub block: Option<Hash>,
    /// How many relays served exactly that head.
    pub agreeing: usize,
    /// Each relay, by the name the caller gave it, and how it fared.
    pub relays: Vec<(String, RelayStatus)>,
    /// Whether any equivocation evidence is held (see [`LightClient::evidence`]).
    pub equivocation: bool,
}

impl LightClient {
    /// Verifies the heads several relays served and compares them. Every head is checked against
    /// the trusted validator set of its epoch; conflicting certified blocks become evidence.
    pub fn cross_check(&mut self, answers: &[(String, RelayAnswer)]) -> CrossCheck {
        let mut verified: Vec<(usize, u64, Hash)> = Vec::new();
        let mut relays: Vec<(String, RelayStatus)> = Vec::with_capacity(answers.len());
        for (i, (name, answer)) in answers.iter().enumerate() {
            let status = match answer {
                Err(reason) => RelayStatus::Unreachable {
                    reason: reason.clone(),
                },
                Ok((header, cert)) => match self.verify_header(header, cert) {
                    Ok(v) => {
                        verified.push((i, header.height, v.hash()));
                        // Settled below, once the highest head is known.
                        RelayStatus::Agrees {
                            height: header.height,
                        }
                    }
                    Err(LightClientError::Equivocation { height, .. })
                    | Err(LightClientError::ConflictsWithTrust { height, .. }) => {
                        RelayStatus::Equivocates { height }
                    }
                    Err(e) => RelayStatus::Invalid {
                        reason: e.to_string(),
                    },
                },
            };
            relays.push((name.clone(), status));
        }
        let top = verified.iter().map(|(_, h, _)| *h).max();
        let block = top.and_then(|t| {
            verified
                .iter()
                .find(|(_, h, _)| *h == t)
                .map(|(_, _, b)| *b)
        });
        let mut agreeing = 0;
        for (i, height, hash) in &verified {
            let top = top.unwrap_or(*height);
            if *height < top {
                relays[*i].1 = RelayStatus::Lags {
                    height: *height,
                    behind: top - height,
                };
            } else if Some(*hash) == block {
                agreeing += 1;
            }
        }
        CrossCheck {
            height: top,
            block,
            agreeing,
            relays,
            equivocation: !self.evidence().is_empty(),
        }
    }

    /// Settles one [`Probe`]: `answer` is the block the leading relay served at the lagging
    /// relay's height. A valid certified block that differs from the lagging relay's head is kept
    /// as evidence, and the lagging relay is marked as equivocating (one of the two chains is a
    /// fork signed by the same validators). Answers that do not verify change nothing: the leading
    /// relay's head already verified, and a missing old block is not proof of anything.
    pub fn settle_probe(&mut self, check: &mut CrossCheck, probe: &Probe, answer: &RelayAnswer) {
        let Ok((header, cert)) = answer else {
            return;
        };
        if header.height != probe.height {
            return;
        }
        if let Err(
            LightClientError::Equivocation { height, .. }
            | LightClientError::ConflictsWithTrust { height, .. },
        ) = self.verify_header(header, cert)
        {
            if let Some((_, status)) = check.relays.iter_mut().find(|(n, _)| *n == probe.lagging) {
                *status = RelayStatus::Equivocates { height };
            }
            check.equivocation = true;
        }
    }
}

/// A question that tells a lagging relay from a forked one: "leading relay, which block do you
/// have at the lagging relay's head height?" (see [`CrossCheck::probes`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The relay to ask (one whose head is the highest).
    pub ask: String,
    /// The height to ask for.
    pub height: u64,
    /// The lagging relay whose head is at that height.
    pub lagging: String,
}

impl CrossCheck {
    /// The blocks to fetch so that a fork is not mistaken for lag: for every lagging relay, its
    /// head height, asked of a relay serving the highest head. Two certified blocks at one height
    /// are evidence whichever heads they came from.
    pub fn probes(&self) -> Vec<Probe> {
        let Some(leader) = self
            .relays
            .iter()
            .find(|(_, s)| matches!(s, RelayStatus::Agrees { .. }))
        else {
            return Vec::new();
        };
        self.relays
            .iter()
            .filter_map(|(name, s)| match s {
                RelayStatus::Lags { height, .. } => Some(Probe {
                    ask: leader.0.clone(),
                    height: *height,
                    lagging: name.clone(),
                }),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::validators::{Validator, ValidatorSet};
    use crate::crypto::PublicKey;
    use crate::verify::light_client::TrustedCheckpoint;
    use alloc::vec;
    use ed25519_dalek::SigningKey;

    fn setup() -> (Vec<SigningKey>, ValidatorSet) {
        let keys: Vec<_> = (1..=4u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect();
        let set = ValidatorSet::new(
            0,
            keys.iter()
                .map(|k| Validator {
                    key: PublicKey::of(k),
                    weight: 1,
                })
                .collect(),
        )
        .unwrap();
        (keys, set)
    }

    fn block(set: &ValidatorSet, keys: &[SigningKey], height: u64, salt: u8) -> RelayAnswer {
        let header = BlockHeader {
            chain_id: "t".into(),
            height,
            epoch: 0,
            prev: Hash([salt; 32]),
            time_ms: 1,
            anchor_root: Hash::ZERO,
            moved: 0,
            body_hash: crate::chain::block::BlockBody::default().hash(),
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
        };
        let signers: Vec<&SigningKey> = keys.iter().collect();
        let cert = CommitCertificate::sign(&header, 0, set, &signers);
        Ok((header, cert))
    }

    fn client(set: &ValidatorSet) -> LightClient {
        LightClient::new(TrustedCheckpoint {
            chain_id: "t".into(),
            height: 0,
            block: Hash::ZERO,
            validators: set.clone(),
        })
    }

    #[test]
    fn agreement_lag_invalid_unreachable_and_equivocation() {
        let (keys, set) = setup();
        let mut lc = client(&set);
        // One of four signers: not more than 2/3 of the weight.
        let forged = block(&set, &keys[..1], 10, 0);
        let answers = vec![
            ("a".to_string(), block(&set, &keys, 10, 0)),
            ("b".to_string(), block(&set, &keys, 10, 0)),
            ("c".to_string(), block(&set, &keys, 8, 0)),
            ("d".to_string(), forged),
            ("e".to_string(), Err("timeout".into())),
        ];
        let r = lc.cross_check(&answers);
        assert_eq!(r.height, Some(10));
        assert_eq!(r.agreeing, 2);
        assert_eq!(
            r.relays[2].1,
            RelayStatus::Lags {
                height: 8,
                behind: 2
            }
        );
        assert!(matches!(r.relays[3].1, RelayStatus::Invalid { .. }));
        assert!(matches!(r.relays[4].1, RelayStatus::Unreachable { .. }));
        assert!(!r.equivocation);

        // A relay presenting another certified block at height 10: evidence, kept and shown.
        let answers = vec![
            ("a".to_string(), block(&set, &keys, 10, 0)),
            ("x".to_string(), block(&set, &keys, 10, 9)),
        ];
        let r = lc.cross_check(&answers);
        assert_eq!(r.relays[1].1, RelayStatus::Equivocates { height: 10 });
        assert!(r.equivocation);
        assert_eq!(lc.evidence().len(), 1);
        lc.evidence()[0].verify(&set).unwrap();
    }

    #[test]
    fn a_fork_at_another_height_is_found_by_probing_the_leader() {
        let (keys, set) = setup();
        let mut lc = client(&set);
        // "b" is behind "a", on a fork (salt 7): heads alone look like lag.
        let answers = vec![
            ("a".to_string(), block(&set, &keys, 12, 0)),
            ("b".to_string(), block(&set, &keys, 9, 7)),
            ("c".to_string(), block(&set, &keys, 10, 0)),
        ];
        let mut r = lc.cross_check(&answers);
        assert!(!r.equivocation);
        let probes = r.probes();
        assert_eq!(
            probes,
            vec![
                Probe {
                    ask: "a".into(),
                    height: 9,
                    lagging: "b".into()
                },
                Probe {
                    ask: "a".into(),
                    height: 10,
                    lagging: "c".into()
                }
            ]
        );
        // The leader's block 9 differs from b's head: evidence. Its block 10 is c's head: lag.
        lc.settle_probe(&mut r, &probes[0], &block(&set, &keys, 9, 0));
        lc.settle_probe(&mut r, &probes[1], &block(&set, &keys, 10, 0));
        // An answer for another height, or an error, proves nothing.
        lc.settle_probe(&mut r, &probes[1], &block(&set, &keys, 11, 3));
        lc.settle_probe(&mut r, &probes[1], &Err("gone".into()));
        assert_eq!(r.relays[1].1, RelayStatus::Equivocates { height: 9 });
        assert!(matches!(
            r.relays[2].1,
            RelayStatus::Lags { height: 10, .. }
        ));
        assert!(r.equivocation);
        assert_eq!(lc.evidence().len(), 1);
        lc.evidence()[0].verify(&set).unwrap();
    }
}
