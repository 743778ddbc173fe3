//! The beacon: a random value per epoch, made by the validators with commit-reveal.
//!
//! 1. In epoch `e` each validator of `e` draws a 32-byte secret and publishes a signed
//!    [`BeaconCommit`] of `H(BeaconSecret, e ‖ validator ‖ secret)`. Commits recorded after epoch
//!    `e`'s last block do not count: the commit set is fixed before any secret is shown.
//! 2. In epoch `e + 1` each committer publishes its [`BeaconReveal`] (the secret).
//! 3. The value is `H(BeaconValue, version ‖ e ‖ previous value ‖ count ‖ (validator ‖ secret)…)`
//!    over the valid reveals sorted by validator key ([`beacon_value`]). Chaining the previous
//!    value keeps the output unpredictable even in an epoch where nobody reveals.
//!
//! A [`BeaconRound`] (the commits and reveals, as recorded in main blocks) is all a light client
//! needs: [`BeaconRound::verify`] re-checks every commit against the epoch's trusted validator
//! set and every reveal against its commit, and recomputes the value. Validators that committed
//! and did not reveal are *withheld* and named in the [`BeaconOutput`]; the chain penalises them
//! (`PosrState::penalize`). The bias a withholding coalition keeps — a choice among at most `2^k`
//! outcomes for `k` withheld reveals — is worked out in `docs/beacon.md`.
//!
//! Sans-IO: the secret comes in as an argument; [`BeaconCollector`] is the state machine a block
//! producer feeds commits and reveals into.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::chain::validators::{MAX_VALIDATORS, ValidatorSet};
use crate::crypto::hash::{Domain, Hash};
use crate::crypto::{BadSignature, PublicKey, Signature, sign};
use crate::encoding::{Decode, DecodeError, Encode, FORMAT_VERSION, Reader, Writer};

/// Size of an encoded [`BeaconCommit`].
pub const COMMIT_SIZE: usize = 1 + 8 + 32 + 32 + 64;
/// Size of an encoded [`BeaconReveal`].
pub const REVEAL_SIZE: usize = 1 + 8 + 32 + 32;

/// A validator's beacon secret: 32 bytes it drew uniformly at random (the caller's randomness).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BeaconSecret(pub [u8; 32]);

impl BeaconSecret {
    /// Lower-case hex.
    pub fn to_hex(&self) -> alloc::string::String {
        crate::encoding::hex::encode(&self.0)
    }
    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, DecodeError> {
        crate::encoding::hex::decode_array(s, "beacon secret").map(BeaconSecret)
    }
}

impl core::fmt::Debug for BeaconSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "BeaconSecret({})", self.to_hex())
    }
}

crate::encoding::hex::serde_hex!(BeaconSecret, "beacon secret");

/// The commitment to `secret`: `H(BeaconSecret, epoch ‖ validator ‖ secret)`. The validator key
/// is inside so nobody can copy another validator's commitment and reveal its secret as their own.
pub fn commitment(epoch: u64, validator: &PublicKey, secret: &BeaconSecret) -> Hash {
    let mut w = Writer::new();
    w.u64(epoch);
    validator.encode(&mut w);
    w.raw(&secret.0);
    Domain::BeaconSecret.hash(&w.into_bytes())
}

/// A validator's signed commitment for the beacon of `epoch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconCommit {
    /// The epoch the commitment is made in (the beacon's epoch).
    pub epoch: u64,
    /// The committing validator.
    pub validator: PublicKey,
    /// [`commitment`] of its secret.
    pub commitment: Hash,
    /// Its signature over [`BeaconCommit::digest`].
    pub signature: Signature,
}

/// The opening of a commitment, published in the next epoch. Needs no signature: it is checked
/// against the signed commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconReveal {
    /// The beacon's epoch (that of the commit).
    pub epoch: u64,
    /// The validator.
    pub validator: PublicKey,
    /// The secret.
    pub secret: BeaconSecret,
}

impl BeaconCommit {
    /// Commits to `secret` as `key` for `epoch`; returns the commit (publish now) and the reveal
    /// (keep, publish in the next epoch).
    pub fn new(
        chain_id: &str,
        key: &SigningKey,
        epoch: u64,
        secret: BeaconSecret,
    ) -> (BeaconCommit, BeaconReveal) {
        let validator = PublicKey::of(key);
        let mut c = BeaconCommit {
            epoch,
            validator,
            commitment: commitment(epoch, &validator, &secret),
            signature: Signature([0; 64]),
        };
        c.signature = sign(key, &c.digest(chain_id));
        (
            c,
            BeaconReveal {
                epoch,
                validator,
                secret,
            },
        )
    }

    /// What the validator signs: `BeaconCommit`-domain hash of `version ‖ chain_id ‖ epoch ‖
    /// validator ‖ commitment`.
    pub fn digest(&self, chain_id: &str) -> Hash {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION);
        w.str(chain_id);
        w.u64(self.epoch);
        self.validator.encode(&mut w);
        self.commitment.encode(&mut w);
        Domain::BeaconCommit.hash(&w.into_bytes())
    }

    /// Checks the signature.
    pub fn verify(&self, chain_id: &str) -> Result<(), BadSignature> {
        self.validator
            .verify(&self.digest(chain_id), &self.signature)
    }
}

impl BeaconReveal {
    /// Whether this reveal opens `commit`.
    pub fn opens(&self, commit: &BeaconCommit) -> bool {
        self.epoch == commit.epoch
            && self.validator == commit.validator
            && commitment(self.epoch, &self.validator, &self.secret) == commit.commitment
    }
}

/// The beacon value of `epoch` from the previous value and the valid reveals, whatever their
/// order (they are hashed sorted by validator key). Callers pass each validator at most once.
pub fn beacon_value(epoch: u64, previous: &Hash, reveals: &[BeaconReveal]) -> Hash {
    let mut sorted: Vec<&BeaconReveal> = reveals.iter().collect();
    sorted.sort_by_key(|r| r.validator);
    let mut w = Writer::new();
    w.u8(FORMAT_VERSION);
    w.u64(epoch);
    previous.encode(&mut w);
    w.len(sorted.len());
    for r in sorted {
        r.validator.encode(&mut w);
        w.raw(&r.secret.0);
    }
    Domain::BeaconValue.hash(&w.into_bytes())
}

/// Why beacon input is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    /// Input for another epoch.
    #[error("beacon input for epoch {found}, expected epoch {expected}")]
    WrongEpoch {
        /// The epoch of the round.
        expected: u64,
        /// The epoch found.
        found: u64,
    },
    /// The key is not a validator of the epoch.
    #[error("{0} is not a validator of the beacon's epoch")]
    NotValidator(PublicKey),
    /// A commit's signature fails.
    #[error(transparent)]
    BadSignature(#[from] BadSignature),
    /// Commits or reveals not strictly ascending by validator key.
    #[error("{0} must be strictly ascending by validator key")]
    Unsorted(&'static str),
    /// A reveal without a commit.
    #[error("{0} reveals without a commit")]
    NoCommit(PublicKey),
    /// A reveal that does not open its commit.
    #[error("the reveal of {0} does not open its commitment")]
    BadReveal(PublicKey),
    /// Two different commits by one validator; both are void.
    #[error("{0} committed twice with different commitments")]
    Equivocation(PublicKey),
    /// A commit after the commit phase closed.
    #[error("the commit phase is closed")]
    CommitsClosed,
    /// A reveal before the commit phase closed.
    #[error("reveals are not open yet")]
    RevealsNotOpen,
}

/// The commits and reveals of one beacon epoch, as recorded in main blocks: everything needed to
/// recompute and check the value. Both lists strictly ascending by validator key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconRound {
    /// The beacon's epoch (the commits' epoch; reveals were recorded in the next one).
    pub epoch: u64,
    /// The previous epoch's beacon value (zero before the first).
    pub previous: Hash,
    /// The commits recorded in `epoch`.
    pub commits: Vec<BeaconCommit>,
    /// The reveals recorded in `epoch + 1`.
    pub reveals: Vec<BeaconReveal>,
}

/// A checked beacon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeaconOutput {
    /// The beacon's epoch.
    pub epoch: u64,
    /// The random value.
    pub value: Hash,
    /// Validators whose reveal counted.
    pub revealed: Vec<PublicKey>,
    /// Validators that committed and did not reveal: identifiable, to be penalised.
    pub withheld: Vec<PublicKey>,
    /// Validators of the set that did not commit (or equivocated).
    pub absent: Vec<PublicKey>,
    /// Weight of the revealers.
    pub revealed_weight: u128,
    /// Weight of the whole set.
    pub total_weight: u128,
}

impl BeaconRound {
    /// Checks the round against the trusted validator set of its epoch and computes the value:
    /// every commit is by a validator of `set`, for this epoch, validly signed; every reveal
    /// opens a commit. Any violation is an error (a block producer must not record it).
    pub fn verify(&self, chain_id: &str, set: &ValidatorSet) -> Result<BeaconOutput, BeaconError> {
        if set.epoch != self.epoch {
            return Err(BeaconError::WrongEpoch {
                expected: self.epoch,
                found: set.epoch,
            });
        }
        if self
            .commits
            .windows(2)
            .any(|w| w[0].validator >= w[1].validator)
        {
            return Err(BeaconError::Unsorted("commits"));
        }
        if self
            .reveals
            .windows(2)
            .any(|w| w[0].validator >= w[1].validator)
        {
            return Err(BeaconError::Unsorted("reveals"));
        }
        let mut commits = BTreeMap::new();
        for c in &self.commits {
            check_commit(chain_id, set, self.epoch, c)?;
            commits.insert(c.validator, c);
        }
        for r in &self.reveals {
            let c = commits
                .get(&r.validator)
                .ok_or(BeaconError::NoCommit(r.validator))?;
            if !r.opens(c) {
                return Err(BeaconError::BadReveal(r.validator));
            }
        }
        Ok(output(
            self.epoch,
            &self.previous,
            set,
            &commits,
            &self.reveals,
        ))
    }
}

fn check_commit(
    chain_id: &str,
    set: &ValidatorSet,
    epoch: u64,
    c: &BeaconCommit,
) -> Result<(), BeaconError> {
    if c.epoch != epoch {
        return Err(BeaconError::WrongEpoch {
            expected: epoch,
            found: c.epoch,
        });
    }
    if set.index_of(&c.validator).is_none() {
        return Err(BeaconError::NotValidator(c.validator));
    }
    c.verify(chain_id)?;
    Ok(())
}

fn output(
    epoch: u64,
    previous: &Hash,
    set: &ValidatorSet,
    commits: &BTreeMap<PublicKey, &BeaconCommit>,
    reveals: &[BeaconReveal],
) -> BeaconOutput {
    let revealed: BTreeSet<PublicKey> = reveals.iter().map(|r| r.validator).collect();
    let weight_of = |k: &PublicKey| {
        set.index_of(k)
            .map_or(0, |i| set.validators[i as usize].weight as u128)
    };
    BeaconOutput {
        epoch,
        value: beacon_value(epoch, previous, reveals),
        revealed: revealed.iter().copied().collect(),
        withheld: commits
            .keys()
            .filter(|k| !revealed.contains(k))
            .copied()
            .collect(),
        absent: set
            .validators
            .iter()
            .map(|v| v.key)
            .filter(|k| !commits.contains_key(k))
            .collect(),
        revealed_weight: revealed.iter().map(weight_of).sum(),
        total_weight: set.total_weight(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Committing,
    Revealing,
}

/// What [`BeaconCollector::add_commit`] does with an acceptable commit.
enum CommitStep {
    /// The validator's first commit: keep it.
    Insert,
    /// The commitment held already: nothing to do.
    Keep,
    /// A different commitment than the one held (given): void both, keep the pair as evidence.
    Void(BeaconCommit),
}

/// The block producer's side: collects the commits of epoch `e` (until
/// [`BeaconCollector::close_commits`] at the epoch's last block), then the reveals, and hands out
/// the [`BeaconRound`] to record and its [`BeaconOutput`].
#[derive(Clone, Debug)]
pub struct BeaconCollector {
    chain_id: alloc::string::String,
    set: ValidatorSet,
    previous: Hash,
    phase: Phase,
    commits: BTreeMap<PublicKey, BeaconCommit>,
    reveals: BTreeMap<PublicKey, BeaconReveal>,
    equivocators: BTreeSet<PublicKey>,
    evidence: Vec<(BeaconCommit, BeaconCommit)>,
}

impl BeaconCollector {
    /// A collector for the beacon of `set.epoch`, chained to `previous`.
    pub fn new(chain_id: &str, set: ValidatorSet, previous: Hash) -> Self {
        BeaconCollector {
            chain_id: chain_id.into(),
            set,
            previous,
            phase: Phase::Committing,
            commits: BTreeMap::new(),
            reveals: BTreeMap::new(),
            equivocators: BTreeSet::new(),
            evidence: Vec::new(),
        }
    }

    /// The beacon's epoch (that of the validator set).
    pub fn epoch(&self) -> u64 {
        self.set.epoch
    }

    /// Whether `key` is a validator of the beacon's epoch.
    pub fn is_member(&self, key: &PublicKey) -> bool {
        self.set.index_of(key).is_some()
    }

    /// Whether a commit by `key` is held (not one voided by an equivocation).
    pub fn has_commit(&self, key: &PublicKey) -> bool {
        self.commits.contains_key(key)
    }

    /// Whether a reveal by `key` is held.
    pub fn has_reveal(&self, key: &PublicKey) -> bool {
        self.reveals.contains_key(key)
    }

    /// Takes a commit. The same commit twice is harmless; a different second commit voids both
    /// and keeps them as evidence ([`BeaconCollector::equivocations`]). Answers exactly what
    /// [`BeaconCollector::check_commit`] says it would.
    pub fn add_commit(&mut self, c: BeaconCommit) -> Result<(), BeaconError> {
        match self.commit_step(&c)? {
            CommitStep::Insert => {
                self.commits.insert(c.validator, c);
                Ok(())
            }
            CommitStep::Keep => Ok(()),
            CommitStep::Void(prev) => {
                self.evidence.push((prev, c));
                self.commits.remove(&c.validator);
                self.equivocators.insert(c.validator);
                Err(BeaconError::Equivocation(c.validator))
            }
        }
    }

    /// What [`BeaconCollector::add_commit`] would return for `c` now, without taking it (the
    /// same rules, signature check included).
    pub fn check_commit(&self, c: &BeaconCommit) -> Result<(), BeaconError> {
        match self.commit_step(c)? {
            CommitStep::Insert | CommitStep::Keep => Ok(()),
            CommitStep::Void(_) => Err(BeaconError::Equivocation(c.validator)),
        }
    }

    /// The rules of a commit: what [`BeaconCollector::add_commit`] must do with it.
    fn commit_step(&self, c: &BeaconCommit) -> Result<CommitStep, BeaconError> {
        if self.phase != Phase::Committing {
            return Err(BeaconError::CommitsClosed);
        }
        check_commit(&self.chain_id, &self.set, self.set.epoch, c)?;
        if self.equivocators.contains(&c.validator) {
            return Err(BeaconError::Equivocation(c.validator));
        }
        Ok(match self.commits.get(&c.validator) {
            None => CommitStep::Insert,
            Some(prev) if prev.commitment == c.commitment => CommitStep::Keep,
            Some(prev) => CommitStep::Void(*prev),
        })
    }

    /// Ends the commit phase (at the last block of the beacon's epoch).
    pub fn close_commits(&mut self) {
        self.phase = Phase::Revealing;
    }

    /// Takes a reveal (after [`BeaconCollector::close_commits`]). Answers exactly what
    /// [`BeaconCollector::check_reveal`] says it would.
    pub fn add_reveal(&mut self, r: BeaconReveal) -> Result<(), BeaconError> {
        self.check_reveal(&r)?;
        self.reveals.insert(r.validator, r);
        Ok(())
    }

    /// What [`BeaconCollector::add_reveal`] would return for `r` now, without taking it.
    pub fn check_reveal(&self, r: &BeaconReveal) -> Result<(), BeaconError> {
        if self.phase != Phase::Revealing {
            return Err(BeaconError::RevealsNotOpen);
        }
        if r.epoch != self.set.epoch {
            return Err(BeaconError::WrongEpoch {
                expected: self.set.epoch,
                found: r.epoch,
            });
        }
        let c = self
            .commits
            .get(&r.validator)
            .ok_or(BeaconError::NoCommit(r.validator))?;
        if !r.opens(c) {
            return Err(BeaconError::BadReveal(r.validator));
        }
        Ok(())
    }

    /// Pairs of conflicting commits seen (each pair voids its validator's participation).
    pub fn equivocations(&self) -> &[(BeaconCommit, BeaconCommit)] {
        &self.evidence
    }

    /// The round to record and its output (at the end of the reveal phase).
    pub fn finish(&self) -> (BeaconRound, BeaconOutput) {
        let round = BeaconRound {
            epoch: self.set.epoch,
            previous: self.previous,
            commits: self.commits.values().copied().collect(),
            reveals: self.reveals.values().copied().collect(),
        };
        let commits: BTreeMap<PublicKey, &BeaconCommit> =
            self.commits.iter().map(|(k, c)| (*k, c)).collect();
        let out = output(
            round.epoch,
            &round.previous,
            &self.set,
            &commits,
            &round.reveals,
        );
        (round, out)
    }
}

// --- encoding ---

impl Encode for BeaconCommit {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        w.u64(self.epoch);
        self.validator.encode(w);
        self.commitment.encode(w);
        self.signature.encode(w);
    }
}
impl Decode for BeaconCommit {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("beacon commit")?;
        Ok(BeaconCommit {
            epoch: r.u64("beacon epoch")?,
            validator: PublicKey::decode(r)?,
            commitment: Hash::decode(r)?,
            signature: Signature::decode(r)?,
        })
    }
}
impl Encode for BeaconReveal {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        w.u64(self.epoch);
        self.validator.encode(w);
        w.raw(&self.secret.0);
    }
}
impl Decode for BeaconReveal {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("beacon reveal")?;
        Ok(BeaconReveal {
            epoch: r.u64("beacon epoch")?,
            validator: PublicKey::decode(r)?,
            secret: BeaconSecret(r.array("beacon secret")?),
        })
    }
}
impl Encode for BeaconRound {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        w.u64(self.epoch);
        self.previous.encode(w);
        w.seq(&self.commits);
        w.seq(&self.reveals);
    }
}
impl Decode for BeaconRound {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("beacon round")?;
        let round = BeaconRound {
            epoch: r.u64("beacon epoch")?,
            previous: Hash::decode(r)?,
            commits: r.seq("beacon commits", MAX_VALIDATORS, COMMIT_SIZE)?,
            reveals: r.seq("beacon reveals", MAX_VALIDATORS, REVEAL_SIZE)?,
        };
        if round
            .commits
            .windows(2)
            .any(|w| w[0].validator >= w[1].validator)
            || round
                .reveals
                .windows(2)
                .any(|w| w[0].validator >= w[1].validator)
        {
            return Err(DecodeError::NonCanonical(
                "beacon commits and reveals must be strictly ascending by validator",
            ));
        }
        Ok(round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::validators::Validator;
    use std::println;

    const CHAIN: &str = "beacon-test";

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn secret(&mut self) -> BeaconSecret {
            let mut s = [0u8; 32];
            for c in s.chunks_mut(8) {
                c.copy_from_slice(&self.next().to_be_bytes());
            }
            BeaconSecret(s)
        }
    }

    fn keys(n: u8) -> Vec<SigningKey> {
        (1..=n).map(|i| SigningKey::from_bytes(&[i; 32])).collect()
    }

    fn set_of(epoch: u64, keys: &[SigningKey]) -> ValidatorSet {
        ValidatorSet::new(
            epoch,
            keys.iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    key: PublicKey::of(k),
                    weight: 10 + i as u64,
                })
                .collect(),
        )
        .unwrap()
    }

    /// Runs a round where `withhold` validators (by index) do not reveal.
    fn round(
        rng: &mut XorShift,
        keys: &[SigningKey],
        epoch: u64,
        withhold: &[usize],
    ) -> (BeaconRound, BeaconOutput) {
        let set = set_of(epoch, keys);
        let mut c = BeaconCollector::new(CHAIN, set, Hash::ZERO);
        let mut reveals = Vec::new();
        for k in keys {
            let (commit, reveal) = BeaconCommit::new(CHAIN, k, epoch, rng.secret());
            c.add_commit(commit).unwrap();
            reveals.push(reveal);
        }
        assert_eq!(c.add_reveal(reveals[0]), Err(BeaconError::RevealsNotOpen));
        c.close_commits();
        for (i, r) in reveals.into_iter().enumerate() {
            if !withhold.contains(&i) {
                c.add_reveal(r).unwrap();
            }
        }
        c.finish()
    }

    #[test]
    fn honest_round_verifies_and_light_client_agrees() {
        let mut rng = XorShift(7);
        let ks = keys(7);
        let (round, out) = round(&mut rng, &ks, 3, &[]);
        assert!(out.withheld.is_empty() && out.absent.is_empty());
        assert_eq!(out.revealed_weight, out.total_weight);
        // A light client holding only the trusted set and the recorded bytes gets the same value.
        let bytes = round.to_bytes();
        let decoded = BeaconRound::from_bytes(&bytes).unwrap();
        let checked = decoded.verify(CHAIN, &set_of(3, &ks)).unwrap();
        assert_eq!(checked, out);
        // Another network's chain id does not verify.
        assert!(matches!(
            decoded.verify("other", &set_of(3, &ks)),
            Err(BeaconError::BadSignature(_))
        ));
        // Order of reveals given to beacon_value does not matter.
        let mut rev = round.reveals.clone();
        rev.reverse();
        assert_eq!(beacon_value(3, &Hash::ZERO, &rev), out.value);
    }

    #[test]
    fn withholding_is_identified_and_changes_the_value() {
        let ks = keys(5);
        let (_, all) = round(&mut XorShift(9), &ks, 1, &[]);
        let (round, some) = round(&mut XorShift(9), &ks, 1, &[1, 3]);
        assert_ne!(all.value, some.value);
        let mut expected = alloc::vec![PublicKey::of(&ks[1]), PublicKey::of(&ks[3])];
        expected.sort();
        assert_eq!(some.withheld, expected);
        assert_eq!(round.verify(CHAIN, &set_of(1, &ks)).unwrap(), some);
    }

    #[test]
    fn bad_inputs_are_refused() {
        let ks = keys(4);
        let set = set_of(2, &ks);
        let mut rng = XorShift(11);
        let (good, _) = round(&mut rng, &ks, 2, &[]);

        // A tampered reveal.
        let mut r = good.clone();
        r.reveals[0].secret.0[0] ^= 1;
        assert_eq!(
            r.verify(CHAIN, &set),
            Err(BeaconError::BadReveal(r.reveals[0].validator))
        );
        // A reveal without a commit.
        let mut r = good.clone();
        let dropped = r.commits.remove(0).validator;
        assert_eq!(r.verify(CHAIN, &set), Err(BeaconError::NoCommit(dropped)));
        // A commit by an outsider.
        let outsider = SigningKey::from_bytes(&[99; 32]);
        let (oc, _) = BeaconCommit::new(CHAIN, &outsider, 2, rng.secret());
        let mut c = BeaconCollector::new(CHAIN, set.clone(), Hash::ZERO);
        assert_eq!(
            c.add_commit(oc),
            Err(BeaconError::NotValidator(PublicKey::of(&outsider)))
        );
        // A commit for another epoch.
        let (late, _) = BeaconCommit::new(CHAIN, &ks[0], 3, rng.secret());
        assert!(matches!(
            c.add_commit(late),
            Err(BeaconError::WrongEpoch { .. })
        ));
        // Unsorted lists.
        let mut r = good.clone();
        r.commits.swap(0, 1);
        assert_eq!(r.verify(CHAIN, &set), Err(BeaconError::Unsorted("commits")));
        assert!(BeaconRound::from_bytes(&r.to_bytes()).is_err());
        // Commits after the commit phase.
        c.close_commits();
        let (c2, _) = BeaconCommit::new(CHAIN, &ks[0], 2, rng.secret());
        assert_eq!(c.add_commit(c2), Err(BeaconError::CommitsClosed));
        // Truncated and oversized bytes.
        let bytes = good.to_bytes();
        assert!(BeaconRound::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(BeaconRound::from_bytes(&long).is_err());
    }

    #[test]
    fn equivocating_committer_is_excluded_with_evidence() {
        let ks = keys(4);
        let mut rng = XorShift(5);
        let mut c = BeaconCollector::new(CHAIN, set_of(0, &ks), Hash::ZERO);
        let (a, ra) = BeaconCommit::new(CHAIN, &ks[0], 0, rng.secret());
        let (b, _) = BeaconCommit::new(CHAIN, &ks[0], 0, rng.secret());
        c.add_commit(a).unwrap();
        c.add_commit(a).unwrap(); // the same commit again is harmless
        assert_eq!(c.add_commit(b), Err(BeaconError::Equivocation(a.validator)));
        assert_eq!(c.equivocations(), &[(a, b)]);
        for k in &ks[1..] {
            c.add_commit(BeaconCommit::new(CHAIN, k, 0, rng.secret()).0)
                .unwrap();
        }
        c.close_commits();
        assert_eq!(c.add_reveal(ra), Err(BeaconError::NoCommit(a.validator)));
        let (_, out) = c.finish();
        assert_eq!(out.absent, alloc::vec![a.validator]);
    }

    /// How much can the last `k` revealers bias the beacon? They see every other reveal, then
    /// choose which of their own to publish: 2^k candidate values. Target: a predicate of
    /// probability p (here "first byte < 26", p = 26/256, e.g. "a coalition member leads").
    /// Theory: success 1 - (1 - p)^(2^k).
    #[test]
    fn last_revealer_bias_matches_two_to_the_k() {
        const TRIALS: u32 = 4000;
        let n = 10usize;
        let ks = keys(n as u8);
        let vals: Vec<PublicKey> = ks.iter().map(PublicKey::of).collect();
        let good = |h: &Hash| h.0[0] < 26;
        let p = 26.0 / 256.0;
        let mut rng = XorShift(0x5eed_beac);
        println!(
            "| k last revealers | outcomes | honest rate | with withholding | theory 1-(1-p)^(2^k) | withheld reveals per epoch |"
        );
        println!("|---|---|---|---|---|---|");
        for k in 0..=4usize {
            let (mut honest_hits, mut hits, mut withheld) = (0u32, 0u32, 0u32);
            for t in 0..TRIALS {
                let reveals: Vec<BeaconReveal> = vals
                    .iter()
                    .map(|v| BeaconReveal {
                        epoch: t as u64,
                        validator: *v,
                        secret: rng.secret(),
                    })
                    .collect();
                let prev = Hash::ZERO;
                if good(&beacon_value(t as u64, &prev, &reveals)) {
                    honest_hits += 1;
                }
                // Coalition = the last k; try withholding subsets, fewest withheld first.
                let mut best: Option<u32> = None;
                for mask in 0u32..(1 << k) {
                    let shown: Vec<BeaconReveal> = reveals
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i < n - k || mask & (1 << (i - (n - k))) == 0)
                        .map(|(_, r)| *r)
                        .collect();
                    if good(&beacon_value(t as u64, &prev, &shown)) {
                        let cost = mask.count_ones();
                        best = Some(best.map_or(cost, |b: u32| b.min(cost)));
                    }
                }
                if let Some(cost) = best {
                    hits += 1;
                    withheld += cost;
                }
            }
            let honest = honest_hits as f64 / TRIALS as f64;
            let biased = hits as f64 / TRIALS as f64;
            let theory = 1.0 - (0..1u32 << k).fold(1.0, |acc, _| acc * (1.0 - p));
            println!(
                "| {k} | {} | {honest:.3} | {biased:.3} | {theory:.3} | {:.3} |",
                1u32 << k,
                withheld as f64 / TRIALS as f64
            );
            assert!(
                honest > p - 0.03 && honest < p + 0.03,
                "honest rate {honest}"
            );
            assert!(
                biased > theory - 0.03 && biased < theory + 0.03,
                "k={k}: {biased} vs {theory}"
            );
        }
    }

    /// `check_commit`/`check_reveal` give exactly what `add_commit`/`add_reveal` then return,
    /// and the queries agree with the round `finish` hands out, over random sequences of good,
    /// repeated, equivocating, outsider, wrong-epoch, forged and non-opening input.
    #[test]
    fn checks_agree_with_the_mutating_calls() {
        let ks = keys(5);
        let outsider = SigningKey::from_bytes(&[99; 32]);
        let everyone: Vec<&SigningKey> = ks.iter().chain([&outsider]).collect();
        let (mut commits_ok, mut reveals_ok, mut refused) = (0, 0, 0);
        for seed in 1..=12u64 {
            let mut rng = XorShift(0xbeac_0000 + seed);
            let epoch = 4;
            let set = set_of(epoch, &ks);
            let mut c = BeaconCollector::new(CHAIN, set.clone(), Hash::ZERO);
            assert_eq!(c.epoch(), epoch);
            // Two candidate secrets per key, the second rare: repeats and a few equivocations.
            let secret = |k: usize, j: u64| BeaconSecret([(k as u8) * 2 + j as u8 + 1; 32]);
            let close_at = 20 + rng.next() % 20;
            for step in 0..60 {
                if step == close_at {
                    c.close_commits();
                }
                let i = (rng.next() % everyone.len() as u64) as usize;
                let key = everyone[i];
                let e = if rng.next().is_multiple_of(8) {
                    epoch + 1
                } else {
                    epoch
                };
                let (mut commit, mut reveal) = BeaconCommit::new(
                    CHAIN,
                    key,
                    e,
                    secret(i, rng.next().is_multiple_of(6) as u64),
                );
                if rng.next().is_multiple_of(10) {
                    commit.signature.0[0] ^= 1;
                }
                if rng.next().is_multiple_of(10) {
                    reveal.secret.0[0] ^= 1;
                }
                let predicted = c.check_commit(&commit);
                assert_eq!(predicted, c.clone().add_commit(commit));
                assert_eq!(predicted, c.add_commit(commit), "seed {seed} step {step}");
                let predicted = c.check_reveal(&reveal);
                assert_eq!(predicted, c.clone().add_reveal(reveal));
                assert_eq!(predicted, c.add_reveal(reveal), "seed {seed} step {step}");
                if predicted.is_ok() {
                    reveals_ok += 1;
                }
                if c.check_commit(&commit).is_ok() {
                    commits_ok += 1;
                } else {
                    refused += 1;
                }
                let (round, _) = c.finish();
                for k in &everyone {
                    let k = PublicKey::of(k);
                    assert_eq!(c.is_member(&k), set.index_of(&k).is_some());
                    assert_eq!(
                        c.has_commit(&k),
                        round.commits.iter().any(|x| x.validator == k)
                    );
                    assert_eq!(
                        c.has_reveal(&k),
                        round.reveals.iter().any(|x| x.validator == k)
                    );
                }
            }
        }
        assert!(commits_ok > 0 && reveals_ok > 0 && refused > 0);
    }

    #[test]
    fn encodings_round_trip() {
        let k = SigningKey::from_bytes(&[3; 32]);
        let (c, r) = BeaconCommit::new(CHAIN, &k, 9, BeaconSecret([4; 32]));
        assert_eq!(c.to_bytes().len(), COMMIT_SIZE);
        assert_eq!(r.to_bytes().len(), REVEAL_SIZE);
        assert_eq!(BeaconCommit::from_bytes(&c.to_bytes()).unwrap(), c);
        assert_eq!(BeaconReveal::from_bytes(&r.to_bytes()).unwrap(), r);
        assert!(r.opens(&c));
        let mut bad = c.to_bytes();
        bad[0] = 2;
        assert!(matches!(
            BeaconCommit::from_bytes(&bad),
            Err(DecodeError::BadVersion { .. })
        ));
    }
}
