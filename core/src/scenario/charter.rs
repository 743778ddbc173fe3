//! Charters: a scenario's white paper and genesis record — who owns it, who may write, the record
//! kinds with their field schemas and rules — and its human-readable verification interface.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::crypto::hash::{Domain, Hash};
use crate::crypto::{BadSignature, PublicKey, Signature, sign};
use crate::encoding::value::{MAX_KEY_BYTES, MAX_MAP_ENTRIES, ScenarioId, check_name};
use crate::encoding::{Decode, DecodeError, Encode, FORMAT_VERSION, Reader, Writer};
use crate::scenario::contract::{Body, UnsignedContract};
use crate::scenario::rules::{RecordLookup, Rule, RuleOutcome, RuleViolation, evaluate};
use crate::scenario::schema::{
    FieldSchema, MAX_DESCRIPTION_BYTES, SchemaViolation, check_currency_ties,
};

/// Most owners or writers.
pub const MAX_KEYS: u32 = 256;
/// Most record kinds in a charter.
pub const MAX_KINDS: u32 = 64;
/// Most rules on one record kind.
pub const MAX_RULES: u32 = 64;
/// Longest white paper text.
pub const MAX_WHITE_PAPER_BYTES: u32 = 64 * 1024;

/// A kind of record the scenario accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordKind {
    /// The kind's name, as contracts name it.
    pub name: String,
    /// What records of this kind mean.
    #[serde(default)]
    pub description: String,
    /// Whether records of this kind carry only a digest (the data stays with the project).
    #[serde(default)]
    pub digest_only: bool,
    /// The fields.
    #[serde(default)]
    pub fields: Vec<FieldSchema>,
    /// Per-record rules, all of which must hold.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// A charter before its first owner signs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsignedCharter {
    /// The scenario it founds.
    pub scenario: ScenarioId,
    /// A title.
    pub title: String,
    /// The white paper: what the scenario records and why (Markdown).
    #[serde(default)]
    pub white_paper: String,
    /// Owner keys; the first signs the charter. Owners may always write.
    pub owners: Vec<PublicKey>,
    /// Other keys that may write records.
    #[serde(default)]
    pub writers: Vec<PublicKey>,
    /// The record kinds.
    pub kinds: Vec<RecordKind>,
    /// When it was made, milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// A signed charter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charter {
    /// The signed content.
    #[serde(flatten)]
    pub content: UnsignedCharter,
    /// Every owner's signature over `Domain::Charter` of the content, in the order of
    /// `content.owners`: a charter binds every key it names as an owner, so nobody can name
    /// another's key as co-owner of a scenario (and spend its quota) without its consent.
    pub signatures: Vec<Signature>,
}

/// Why a contract is not admitted by a charter. Each names what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The contract names another scenario.
    #[error("contract is for scenario {found}, not {expected}")]
    WrongScenario {
        /// Its scenario.
        found: ScenarioId,
        /// The charter's.
        expected: ScenarioId,
    },
    /// The kind is not in the charter.
    #[error("record kind `{0}` is not declared by the charter")]
    UnknownKind(String),
    /// The author may not write.
    #[error("author {0} is neither an owner nor a writer of this scenario")]
    Unauthorised(PublicKey),
    /// A digest body where fields are required, or the reverse.
    #[error("record kind `{kind}` takes {expected}")]
    WrongBody {
        /// The kind.
        kind: String,
        /// What it takes.
        expected: &'static str,
    },
    /// A field not in the schema.
    #[error("field `{field}` is not declared for kind `{kind}`")]
    UnknownField {
        /// The kind.
        kind: String,
        /// The field.
        field: String,
    },
    /// A required field is missing.
    #[error("required field `{field}` of kind `{kind}` is missing")]
    MissingField {
        /// The kind.
        kind: String,
        /// The field.
        field: String,
    },
    /// A field breaks its schema.
    #[error(transparent)]
    Schema(#[from] SchemaViolation),
    /// A rule fails.
    #[error(transparent)]
    Rule(#[from] RuleViolation),
}

/// Rules that could not be decided (they need data an offline verifier lacks).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleReport {
    /// Rules that held.
    pub passed: Vec<String>,
    /// Rules that could not be decided, with the reason.
    pub unresolved: Vec<(String, String)>,
}

/// Why a charter is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CharterError {
    /// A structural problem.
    #[error("{0}")]
    Invalid(String),
}

impl UnsignedCharter {
    /// Checks names, keys and limits.
    pub fn validate(&self) -> Result<(), CharterError> {
        let bad = |s: String| Err(CharterError::Invalid(s));
        if self.owners.is_empty() {
            return bad("a charter needs at least one owner".into());
        }
        if self.title.len() > 256 {
            return bad("title longer than 256 bytes".into());
        }
        let mut names: Vec<&str> = Vec::new();
        for k in &self.kinds {
            check_name(&k.name, "record kind")
                .map_err(|e| CharterError::Invalid(format!("{e}")))?;
            if names.contains(&k.name.as_str()) {
                return bad(format!("record kind `{}` declared twice", k.name));
            }
            names.push(&k.name);
            let mut fields: Vec<&str> = Vec::new();
            for f in &k.fields {
                f.validate()
                    .map_err(|e| CharterError::Invalid(format!("kind `{}`: {e}", k.name)))?;
                if fields.contains(&f.name.as_str()) {
                    return bad(format!(
                        "field `{}` of kind `{}` declared twice",
                        f.name, k.name
                    ));
                }
                fields.push(&f.name);
            }
            check_currency_ties(&k.fields)
                .map_err(|e| CharterError::Invalid(format!("kind `{}`: {e}", k.name)))?;
            for r in &k.rules {
                r.check_schema(&k.fields).map_err(|e| {
                    CharterError::Invalid(format!("kind `{}`, rule `{}`: {e}", k.name, r.name))
                })?;
            }
            if k.digest_only && (!k.fields.is_empty() || !k.rules.is_empty()) {
                return bad(format!(
                    "digest-only kind `{}` cannot declare fields or rules",
                    k.name
                ));
            }
        }
        Ok(())
    }
    /// The digest every owner signs.
    pub fn signing_digest(&self) -> Hash {
        Domain::Charter.hash_encoded(self)
    }
    /// Signs with the one owner's key (a charter with more owners needs [`Self::sign_all`]).
    pub fn sign(self, owner: &SigningKey) -> Charter {
        self.sign_all(&[owner])
    }
    /// Signs with every owner's key, given in the order of `owners` (a signature by a key that
    /// is not the owner at its position fails [`Charter::verify_signature`]).
    pub fn sign_all(self, owners: &[&SigningKey]) -> Charter {
        let d = self.signing_digest();
        Charter {
            signatures: owners.iter().map(|k| sign(k, &d)).collect(),
            content: self,
        }
    }
}

impl Charter {
    /// Checks every owner's signature: one per owner, in the order of `owners`. A missing
    /// signature fails as a bad signature of the first owner without one.
    pub fn verify_signature(&self) -> Result<(), BadSignature> {
        let owners = &self.content.owners;
        if owners.is_empty() {
            return Err(BadSignature {
                key: unreachable_key(),
            });
        }
        if let Some(missing) = owners.get(self.signatures.len()) {
            return Err(BadSignature { key: *missing });
        }
        if self.signatures.len() > owners.len() {
            return Err(BadSignature { key: owners[0] });
        }
        let d = self.content.signing_digest();
        owners
            .iter()
            .zip(&self.signatures)
            .try_for_each(|(owner, sig)| owner.verify(&d, sig))
    }

    /// The record kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&RecordKind> {
        self.content.kinds.iter().find(|k| k.name == name)
    }

    /// The `(kind, field)` pairs that `record_exists` rules look up: the only fields a relay
    /// needs to index for reference checks.
    pub fn referenced_fields(&self) -> alloc::collections::BTreeSet<(String, String)> {
        use crate::scenario::rules::{Expr, Func};
        fn walk(e: &Expr, out: &mut alloc::collections::BTreeSet<(String, String)>) {
            if let Expr::Call(Func::RecordExists, args) = e
                && let [Expr::Text(kind), Expr::Text(field), ..] = args.as_slice()
            {
                out.insert((kind.clone(), field.clone()));
            }
            for c in e.children() {
                walk(c, out);
            }
        }
        let mut out = alloc::collections::BTreeSet::new();
        for k in &self.content.kinds {
            for r in &k.rules {
                walk(&r.expr, &mut out);
            }
        }
        out
    }

    /// Whether `key` may write records.
    pub fn may_write(&self, key: &PublicKey) -> bool {
        self.content.owners.contains(key) || self.content.writers.contains(key)
    }

    /// Checks a contract against the charter: scenario, author, kind, schema and every rule.
    /// References to other records are answered by `lookup`; a verifier without the scenario's
    /// records passes [`crate::scenario::rules::NoLookup`] and gets those rules back as unresolved.
    pub fn admit(
        &self,
        c: &UnsignedContract,
        lookup: &dyn RecordLookup,
    ) -> Result<RuleReport, Rejection> {
        if c.scenario != self.content.scenario {
            return Err(Rejection::WrongScenario {
                found: c.scenario.clone(),
                expected: self.content.scenario.clone(),
            });
        }
        if !self.may_write(&c.author) {
            return Err(Rejection::Unauthorised(c.author));
        }
        let kind = self
            .kind(&c.kind)
            .ok_or_else(|| Rejection::UnknownKind(c.kind.clone()))?;
        let fields = match (&c.body, kind.digest_only) {
            (Body::Digest(_), true) => return Ok(RuleReport::default()),
            (Body::Fields(f), false) => f,
            (_, digest_only) => {
                return Err(Rejection::WrongBody {
                    kind: kind.name.clone(),
                    expected: if digest_only {
                        "a digest body"
                    } else {
                        "a fields body"
                    },
                });
            }
        };
        for name in fields.keys() {
            if !kind.fields.iter().any(|f| &f.name == name) {
                return Err(Rejection::UnknownField {
                    kind: kind.name.clone(),
                    field: name.clone(),
                });
            }
        }
        for f in &kind.fields {
            match fields.get(&f.name) {
                None if f.required => {
                    return Err(Rejection::MissingField {
                        kind: kind.name.clone(),
                        field: f.name.clone(),
                    });
                }
                None => {}
                Some(v) => f.ty.check(v).map_err(|problem| SchemaViolation {
                    field: f.name.clone(),
                    problem,
                })?,
            }
        }
        let mut report = RuleReport::default();
        for rule in &kind.rules {
            match evaluate(rule, fields, lookup)? {
                RuleOutcome::Pass => report.passed.push(rule.name.clone()),
                RuleOutcome::Unresolved { reason } => {
                    report.unresolved.push((rule.name.clone(), reason))
                }
            }
        }
        Ok(report)
    }

    /// The verification interface: the charter as a Markdown document listing owners, record
    /// kinds, their fields and their rules.
    pub fn render_interface(&self) -> String {
        let c = &self.content;
        let mut s = String::new();
        let _ = writeln!(s, "# {} — verification interface\n", c.title);
        let _ = writeln!(s, "Scenario: `{}`  ", c.scenario);
        let _ = writeln!(s, "Charter digest: `{}`\n", self.content.signing_digest());
        if !c.white_paper.is_empty() {
            let _ = writeln!(s, "{}\n", c.white_paper.trim_end());
        }
        let _ = writeln!(s, "## Who may write\n");
        for o in &c.owners {
            let _ = writeln!(s, "- owner `{o}`");
        }
        for w in &c.writers {
            let _ = writeln!(s, "- writer `{w}`");
        }
        for k in &c.kinds {
            let _ = writeln!(s, "\n## Record kind `{}`\n", k.name);
            if !k.description.is_empty() {
                let _ = writeln!(s, "{}\n", k.description);
            }
            if k.digest_only {
                let _ = writeln!(
                    s,
                    "Digest only: the chain keeps the blake3 hash of the record; the data stays with the project."
                );
                continue;
            }
            let _ = writeln!(s, "| field | type | required | constraints | meaning |");
            let _ = writeln!(s, "|---|---|---|---|---|");
            for f in &k.fields {
                let _ = writeln!(
                    s,
                    "| `{}` | {} | {} | {} | {} |",
                    f.name,
                    f.ty.name(),
                    if f.required { "yes" } else { "no" },
                    constraints_text(&f.ty),
                    f.description.replace('|', "\\|")
                );
            }
            if !k.rules.is_empty() {
                let _ = writeln!(
                    s,
                    "\nRules (each must hold for every record of this kind):\n"
                );
                for r in &k.rules {
                    let _ = writeln!(
                        s,
                        "- **{}** — {}  \n  `{}` (cost ≤ {} steps)",
                        r.name, r.message, r.source, r.cost
                    );
                }
            }
        }
        s
    }
}

fn constraints_text(t: &crate::scenario::schema::FieldType) -> String {
    use crate::scenario::schema::FieldType as T;
    match t {
        T::Text { max_len, one_of } if one_of.is_empty() => format!("≤ {max_len} bytes"),
        T::Text { one_of, .. } => format!("one of {}", one_of.join(", ")),
        T::Int { min, max } => match (min, max) {
            (Some(a), Some(b)) => format!("{a} … {b}"),
            (Some(a), None) => format!("≥ {a}"),
            (None, Some(b)) => format!("≤ {b}"),
            (None, None) => String::new(),
        },
        T::Decimal {
            min,
            max,
            max_scale,
            currency,
        } => {
            let mut out = format!("≤ {max_scale} decimals");
            if let Some(a) = min {
                let _ = write!(out, ", ≥ {a}");
            }
            if let Some(b) = max {
                let _ = write!(out, ", ≤ {b}");
            }
            match currency {
                Some(crate::scenario::schema::CurrencyTie::Field(f)) => {
                    let _ = write!(out, ", in the currency of `{f}`");
                }
                Some(crate::scenario::schema::CurrencyTie::Code(c)) => {
                    let _ = write!(out, ", in {c}");
                }
                None => {}
            }
            out
        }
        T::Bool => String::new(),
        T::Bytes { max_len } => format!("≤ {max_len} bytes"),
        T::List { item, max_items } => format!("≤ {max_items} × {}", item.name()),
        T::Map { value, max_entries } => format!("≤ {max_entries} × {}", value.name()),
    }
}

fn unreachable_key() -> PublicKey {
    // A charter without owners is rejected when decoded or built; this only keeps the types total.
    PublicKey::of(&SigningKey::from_bytes(&[0; 32]))
}

// --- encoding ---

impl Encode for RecordKind {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.name);
        w.str(&self.description);
        w.bool(self.digest_only);
        w.seq(&self.fields);
        w.seq(&self.rules);
    }
}
impl Decode for RecordKind {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RecordKind {
            name: r.str("record kind", MAX_KEY_BYTES)?,
            description: r.str("kind description", MAX_DESCRIPTION_BYTES)?,
            digest_only: r.bool("digest only")?,
            fields: r.seq("fields", MAX_MAP_ENTRIES, 11)?,
            rules: r.seq("rules", MAX_RULES, 16)?,
        })
    }
}
impl Encode for UnsignedCharter {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        self.scenario.encode(w);
        w.str(&self.title);
        w.str(&self.white_paper);
        w.seq(&self.owners);
        w.seq(&self.writers);
        w.seq(&self.kinds);
        w.u64(self.time_ms);
    }
}
impl Decode for UnsignedCharter {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("charter")?;
        let c = UnsignedCharter {
            scenario: ScenarioId::decode(r)?,
            title: r.str("title", 256)?,
            white_paper: r.str("white paper", MAX_WHITE_PAPER_BYTES)?,
            owners: r.seq("owners", MAX_KEYS, 32)?,
            writers: r.seq("writers", MAX_KEYS, 32)?,
            kinds: r.seq("record kinds", MAX_KINDS, 16)?,
            time_ms: r.u64("charter time")?,
        };
        c.validate().map_err(|_| DecodeError::Invalid {
            what: "charter",
            why: "fails validation (owners, names or duplicate declarations)",
        })?;
        Ok(c)
    }
}
impl Encode for Charter {
    fn encode(&self, w: &mut Writer) {
        self.content.encode(w);
        w.seq(&self.signatures);
    }
}
impl Decode for Charter {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let content = UnsignedCharter::decode(r)?;
        let signatures: Vec<Signature> = r.seq("charter signatures", MAX_KEYS, 64)?;
        if signatures.len() != content.owners.len() {
            return Err(DecodeError::Invalid {
                what: "charter",
                why: "needs exactly one signature per owner",
            });
        }
        Ok(Charter {
            content,
            signatures,
        })
    }
}
