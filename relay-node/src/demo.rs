//! The demo scenario `demo/budget`: a community project's budget — budget lines, payments with
//! amounts, payees and approvals, meeting minutes kept as digests — seeded on first start and
//! kept moving.

use ed25519_dalek::SigningKey;
use rust_decimal::Decimal;
use trustchain_core::crypto::PublicKey;
use trustchain_core::encoding::value::{Fields, ScenarioId, Value};
use trustchain_core::scenario::charter::{Charter, RecordKind, UnsignedCharter};
use trustchain_core::scenario::contract::{Body, Contract, UnsignedContract};
use trustchain_core::scenario::rules::compile;
use trustchain_core::scenario::schema::{CurrencyTie, FieldSchema, FieldType};

/// The demo scenario's id.
pub const SCENARIO: &str = "demo/budget";

fn text(name: &str, description: &str, max_len: u32, required: bool) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        description: description.into(),
        ty: FieldType::Text {
            max_len,
            one_of: vec![],
        },
        required,
    }
}

fn money(name: &str, description: &str) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        description: description.into(),
        ty: FieldType::Decimal {
            min: None,
            max: Some(Decimal::new(10_000_000_000, 2)),
            max_scale: 4,
            // A page may show a currency sign next to the amount only if it is this record's.
            currency: Some(CurrencyTie::Field("currency".into())),
        },
        required: true,
    }
}

fn currency() -> FieldSchema {
    FieldSchema {
        name: "currency".into(),
        description: "ISO 4217 currency code".into(),
        ty: FieldType::Text {
            max_len: 3,
            one_of: vec!["CNY".into(), "EUR".into(), "USD".into()],
        },
        required: true,
    }
}

fn rule(
    name: &str,
    source: &str,
    message: &str,
    fields: &[FieldSchema],
) -> trustchain_core::scenario::rules::Rule {
    compile(name, source, message, fields)
        .unwrap_or_else(|e| panic!("demo rule {name} does not compile: {e}"))
}

/// The demo charter, owned by `owner`, with `treasurer` allowed to write.
pub fn charter(owner: &SigningKey, treasurer: &PublicKey, time_ms: u64) -> Charter {
    let line_fields = vec![
        text("code", "budget line code, e.g. BL-03", 16, true),
        text("title", "what the money is for", 200, true),
        money("amount", "amount budgeted"),
        currency(),
        text("owner", "who answers for this line", 100, true),
    ];
    let line_rules = vec![
        rule(
            "amount_positive",
            "amount > 0 && scale(amount) <= 2",
            "a budgeted amount is positive with at most two decimals",
            &line_fields,
        ),
        rule(
            "code_format",
            "code.startsWith(\"BL-\") && size(code) >= 4",
            "budget line codes look like BL-07",
            &line_fields,
        ),
    ];
    let pay_fields = vec![
        text("budget_line", "the budget line charged", 16, true),
        money("amount", "amount paid"),
        currency(),
        text("payee", "who was paid", 200, true),
        text("approver", "who approved the payment", 100, true),
        FieldSchema {
            name: "approved".into(),
            description: "whether the approver signed off".into(),
            ty: FieldType::Bool,
            required: true,
        },
        text("invoice", "the payee's invoice number", 64, false),
        text("note", "a short note", 1000, false),
    ];
    let pay_rules = vec![
        rule(
            "amount_positive",
            "amount > 0 && scale(amount) <= 2",
            "an amount is positive with at most two decimals",
            &pay_fields,
        ),
        rule(
            "line_exists",
            "record_exists(\"budget_line\", \"code\", budget_line)",
            "a payment names an existing budget line",
            &pay_fields,
        ),
        rule(
            "approved_by_another",
            "approved && size(approver) > 0 && approver != payee",
            "a payment is approved by someone other than its payee",
            &pay_fields,
        ),
        rule(
            "note_short",
            "!has(note) || size(note) <= 280",
            "notes stay under 280 characters",
            &pay_fields,
        ),
    ];
    UnsignedCharter {
        scenario: ScenarioId::new(SCENARIO).expect("valid id"),
        title: "Riverside Library renovation budget".into(),
        white_paper: "The Riverside Library is renovated with money raised from 1,400 residents. \
Every budget line and every payment is recorded here, signed by the treasurer, so that anyone can \
check that the figures on the project's website are the figures on the chain. Minutes of the \
residents' committee are kept as digests: the text stays with the committee, the chain proves \
it was not changed."
            .into(),
        owners: vec![PublicKey::of(owner)],
        writers: vec![*treasurer],
        kinds: vec![
            RecordKind {
                name: "budget_line".into(),
                description: "A line of the approved budget.".into(),
                digest_only: false,
                fields: line_fields,
                rules: line_rules,
            },
            RecordKind {
                name: "payment".into(),
                description: "Money paid out against a budget line.".into(),
                digest_only: false,
                fields: pay_fields,
                rules: pay_rules,
            },
            RecordKind {
                name: "minutes".into(),
                description: "Minutes of a committee meeting (digest only).".into(),
                digest_only: true,
                fields: vec![],
                rules: vec![],
            },
        ],
        time_ms,
    }
    .sign(owner)
}

/// Budget lines: code, title, amount in yuan, owner.
const LINES: &[(&str, &str, i64, &str)] = &[
    (
        "BL-01",
        "Structural survey and permits",
        850_000,
        "Chen Wei",
    ),
    ("BL-02", "Roof repair", 3_120_000, "Li Na"),
    ("BL-03", "Heating and ventilation", 2_600_000, "Li Na"),
    ("BL-04", "Electrical rewiring", 1_875_000, "Zhang Min"),
    (
        "BL-05",
        "Accessible entrance and lift",
        2_240_000,
        "Chen Wei",
    ),
    ("BL-06", "Reading room furniture", 980_000, "Wang Fang"),
    ("BL-07", "Children's corner", 460_000, "Wang Fang"),
    ("BL-08", "Computers and network", 725_000, "Zhao Lei"),
    ("BL-09", "Book collection renewal", 1_200_000, "Wang Fang"),
    ("BL-10", "Painting and finishes", 630_000, "Zhang Min"),
    ("BL-11", "Project management", 550_000, "Chen Wei"),
    ("BL-12", "Contingency", 1_000_000, "Chen Wei"),
];

const PAYEES: &[&str] = &[
    "Huadong Survey Co.",
    "Jiangbei Roofing Ltd.",
    "Warmline HVAC",
    "Bright Spark Electric",
    "Lift & Access Systems",
    "Oakleaf Furniture",
    "Little Readers Studio",
    "Netwise IT",
    "Riverside Books",
    "Colourworks Decorators",
];

const APPROVERS: &[&str] = &["Chen Wei", "Li Na", "Zhang Min"];

/// A small deterministic generator, so the demo is the same on every machine.
pub struct DemoGen {
    state: u64,
    treasurer: SigningKey,
    scenario: ScenarioId,
}

impl DemoGen {
    /// A generator signing as `treasurer`.
    pub fn new(treasurer: SigningKey, seed: u64) -> Self {
        DemoGen {
            state: seed | 1,
            treasurer,
            scenario: ScenarioId::new(SCENARIO).expect("valid id"),
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn contract(&self, kind: &str, nonce: u64, time_ms: u64, body: Body) -> Contract {
        UnsignedContract {
            scenario: self.scenario.clone(),
            kind: kind.into(),
            author: PublicKey::of(&self.treasurer),
            nonce,
            time_ms,
            body,
            attachments: vec![],
        }
        .sign(&self.treasurer)
    }

    /// The twelve budget lines.
    pub fn budget_lines(&self, nonce_base: u64, time_ms: u64) -> Vec<Contract> {
        LINES
            .iter()
            .enumerate()
            .map(|(i, (code, title, yuan, owner))| {
                let mut f = Fields::new();
                f.insert("code".into(), Value::Text((*code).into()));
                f.insert("title".into(), Value::Text((*title).into()));
                f.insert(
                    "amount".into(),
                    Value::Decimal(Decimal::new(*yuan * 100, 2)),
                );
                f.insert("currency".into(), Value::Text("CNY".into()));
                f.insert("owner".into(), Value::Text((*owner).into()));
                self.contract(
                    "budget_line",
                    nonce_base + i as u64,
                    time_ms,
                    Body::Fields(f),
                )
            })
            .collect()
    }

    /// One payment against a random budget line.
    pub fn payment(&mut self, nonce: u64, time_ms: u64) -> Contract {
        let line = (self.next() % LINES.len() as u64) as usize;
        let payee = PAYEES[line.min(PAYEES.len() - 1)];
        let approver = APPROVERS[(self.next() % APPROVERS.len() as u64) as usize];
        // Between 1,000.00 and 250,000.00, in cents.
        let cents = 100_000 + (self.next() % 24_900_000) as i64;
        let mut f = Fields::new();
        f.insert("budget_line".into(), Value::Text(LINES[line].0.into()));
        f.insert("amount".into(), Value::Decimal(Decimal::new(cents, 2)));
        f.insert("currency".into(), Value::Text("CNY".into()));
        f.insert("payee".into(), Value::Text(payee.into()));
        f.insert("approver".into(), Value::Text(approver.into()));
        f.insert("approved".into(), Value::Bool(true));
        f.insert(
            "invoice".into(),
            Value::Text(format!("INV-{:05}", self.next() % 100_000)),
        );
        self.contract("payment", nonce, time_ms, Body::Fields(f))
    }

    /// Minutes of a meeting, as a digest.
    pub fn minutes(&self, nonce: u64, time_ms: u64, text: &str) -> Contract {
        let d = trustchain_core::crypto::hash::Hash(*blake3::hash(text.as_bytes()).as_bytes());
        self.contract("minutes", nonce, time_ms, Body::Digest(d))
    }
}
