//! The app's shared state: which relay it reads, which checkpoint it trusts (and where that came
//! from), and the light client every view verifies with.

use std::rc::Rc;

use leptos::prelude::*;
use trustchain_core::client::Shell;
use trustchain_core::verify::light_client::{LightClient, TrustedCheckpoint};

use super::net;
use crate::api::Relay;
use crate::check;
use crate::fmt::encode_component;

const PINNED_KEY: &str = "trustchain.explorer.pinned-checkpoint";
const RELAY_KEY: &str = "trustchain.explorer.relay";
const EXTRA_KEY: &str = "trustchain.explorer.other-relays";

/// Where the trusted checkpoint came from.
#[derive(Clone, Debug, PartialEq)]
pub enum TrustSource {
    /// Pinned by the person (kept in this browser).
    Pinned,
    /// The network spec served with this explorer (`/widget/network.json` of the explorer's own
    /// origin — never of a relay a link names), and the relay read is of that network.
    Network {
        /// The genesis block's hash.
        genesis: String,
    },
    /// Taken from the relay being read, on first use: it vouches for itself. Never shown as
    /// verified (green).
    FirstUse {
        /// The relay.
        relay: String,
        /// Why not the explorer's own network.
        why: String,
    },
}

impl TrustSource {
    /// Whether proofs checked under it may be shown as verified: only a checkpoint the person
    /// pinned, or the network this explorer was served with.
    pub fn trusted(&self) -> bool {
        !matches!(self, TrustSource::FirstUse { .. })
    }
}

/// The checkpoint in use.
#[derive(Clone, Debug, PartialEq)]
pub struct Trust {
    /// The checkpoint.
    pub checkpoint: TrustedCheckpoint,
    /// Its source.
    pub source: TrustSource,
}

/// Loading the trusted checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum TrustState {
    /// Not yet known.
    Loading,
    /// In use.
    Ready(Trust),
    /// It could not be had.
    Failed(String),
}

/// Shared state, provided as context.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The relay's base URL (by default the page's own origin).
    pub relay: RwSignal<String>,
    /// Whether the relay came from the URL's `?relay=` (then links carry it, so they stay
    /// shareable).
    pub relay_in_url: RwSignal<bool>,
    /// Other relays whose heads are compared with the first one's.
    pub others: RwSignal<Vec<String>>,
    /// The trusted checkpoint.
    pub trust: RwSignal<TrustState>,
    /// Core's light-client shell (re-created whenever the trust changes); the relays are its
    /// transports (`net.rs`).
    pub client: StoredValue<Option<Rc<Shell>>, LocalStorage>,
    /// Bumped whenever the light client learns something (evidence, headers).
    pub client_version: RwSignal<u64>,
    /// A clock ticking every second, for "… ago".
    pub now: RwSignal<u64>,
}

fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// A query parameter of the page's URL, decoded once (the router's query map decodes twice,
/// which breaks values holding percent-encoded URLs).
pub fn query_param(name: &str) -> Option<String> {
    param_in(&web_sys::window()?.location().search().ok()?, name)
}

/// A parameter of a query string (with or without its `?`), decoded once.
pub fn param_in(search: &str, name: &str) -> Option<String> {
    let params = web_sys::UrlSearchParams::new_with_str(search).ok()?;
    params.get(name).filter(|v| !v.trim().is_empty())
}

impl Ctx {
    /// Reads the relay from `?relay=`, else the saved setting, else the page's origin.
    pub fn new() -> Ctx {
        let from_url = query_param("relay").filter(|r| Relay::acceptable(r));
        let relay_in_url = from_url.is_some();
        let relay = from_url
            .or_else(|| net::load(RELAY_KEY).filter(|s| Relay::acceptable(s)))
            .unwrap_or_else(origin);
        let others = net::load(EXTRA_KEY)
            .map(|s| split_relays(&s))
            .unwrap_or_default();
        Ctx {
            relay: RwSignal::new(Relay::new(&relay).0),
            relay_in_url: RwSignal::new(relay_in_url),
            others: RwSignal::new(others),
            trust: RwSignal::new(TrustState::Loading),
            client: StoredValue::new_local(None),
            client_version: RwSignal::new(0),
            now: RwSignal::new(net::now_ms()),
        }
    }

    /// Starts the clock and the trust loading (again whenever the relay changes).
    pub fn start(self) {
        if let Ok(h) = set_interval_with_handle(
            move || self.now.set(net::now_ms()),
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || h.clear());
        }
        Effect::new(move |_| {
            let relay = self.relay.get();
            self.load_trust(relay);
        });
    }

    /// The relay's API.
    pub fn api(&self) -> Relay {
        Relay::new(&self.relay.get_untracked())
    }

    /// The relay's API, tracked (views re-run when it changes).
    pub fn api_tracked(&self) -> Relay {
        Relay::new(&self.relay.get())
    }

    /// An explorer link that keeps `?relay=` when the relay came from the URL.
    pub fn link(&self, path: &str) -> String {
        if !self.relay_in_url.get_untracked() {
            return path.to_string();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!(
            "{path}{sep}relay={}",
            encode_component(&self.relay.get_untracked())
        )
    }

    /// The checkpoint the person pinned in this browser, if any (checked like every trust input).
    pub fn pinned() -> Option<TrustedCheckpoint> {
        net::load(PINNED_KEY).and_then(|s| check::parse_trust(&s).ok())
    }

    /// Trust, in order: the checkpoint the person pinned; else the network spec this explorer was
    /// served with (its own origin's `/widget/network.json`), when the relay read is of that
    /// chain; else — said plainly, never shown as verified — the relay's own `/v1/trust`.
    fn load_trust(self, relay: String) {
        if let Some(cp) = Self::pinned() {
            self.set_trust(Trust {
                checkpoint: cp,
                source: TrustSource::Pinned,
            });
            return;
        }
        self.trust.set(TrustState::Loading);
        leptos::task::spawn_local(async move {
            let spec = match net::text(&format!("{}/widget/network.json", origin())).await {
                Ok(t) => check::parse_spec(&t),
                Err(e) => Err(format!(
                    "this explorer was served without a network spec ({e})"
                )),
            };
            let api = Relay::new(&relay);
            let theirs = net::json::<TrustedCheckpoint>(&api.url("/v1/trust"))
                .await
                .and_then(check::checked_trust);
            let why = match (&spec, &theirs) {
                (Ok(spec), Ok(cp)) if cp.chain_id == spec.chain_id => {
                    return self.set_trust(Trust {
                        checkpoint: spec.checkpoint.clone(),
                        source: TrustSource::Network {
                            genesis: spec.genesis.to_hex(),
                        },
                    });
                }
                (Ok(spec), Ok(cp)) => format!(
                    "the relay is on chain {}, this explorer's network is {}",
                    cp.chain_id, spec.chain_id
                ),
                (Err(e), _) => e.clone(),
                (Ok(spec), Err(_)) => {
                    // The relay's word is not needed to start from the spec.
                    return self.set_trust(Trust {
                        checkpoint: spec.checkpoint.clone(),
                        source: TrustSource::Network {
                            genesis: spec.genesis.to_hex(),
                        },
                    });
                }
            };
            match theirs {
                Ok(cp) => self.set_trust(Trust {
                    checkpoint: cp,
                    source: TrustSource::FirstUse { relay, why },
                }),
                Err(e) => self.trust.set(TrustState::Failed(e)),
            }
        });
    }

    fn set_trust(self, t: Trust) {
        self.client
            .set_value(Some(Rc::new(Shell::new(t.checkpoint.clone()))));
        self.client_version.update(|v| *v += 1);
        self.trust.set(TrustState::Ready(t));
        // Follow the epoch changes the relay serves from the trusted epoch on: each is checked by
        // the light client (certified by the outgoing set, naming the next), so a relay cannot
        // hand over to a set of its choosing.
        let relay = Relay::new(&self.relay.get_untracked());
        leptos::task::spawn_local(async move { self.follow_epochs(&relay).await });
    }

    /// Follows the epoch changes `relay` serves beyond the light client's epoch (the shell's
    /// [`Shell::follow_epochs`]): each is checked by the client (certified by the outgoing set,
    /// naming the next), so a relay cannot hand over to a set of its choosing. Called before
    /// pages verify, so a page left open keeps up with the network's epochs.
    pub async fn follow_epochs(self, relay: &Relay) {
        if let Some(shell) = self.shell() {
            shell.follow_epochs(relay, u64::MAX).await;
            self.client_version.update(|v| *v += 1);
        }
    }

    /// The shell, to drive over a relay (`None` before the trusted checkpoint is known).
    pub fn shell(&self) -> Option<Rc<Shell>> {
        self.client.try_get_value().flatten()
    }

    /// Pins a checkpoint (kept in this browser) and uses it from now on. Replacing a pinned
    /// checkpoint by another is the person's explicit act: the Trust page asks for confirmation,
    /// naming both fingerprints, before it calls this; nothing else (no URL parameter) pins.
    pub fn pin(self, cp: &TrustedCheckpoint) {
        if let Ok(s) = serde_json::to_string(cp) {
            net::store(PINNED_KEY, Some(&s));
        }
        self.set_trust(Trust {
            checkpoint: cp.clone(),
            source: TrustSource::Pinned,
        });
    }

    /// Forgets the pinned checkpoint: back to trust on first use of the relay.
    pub fn unpin(self) {
        net::store(PINNED_KEY, None);
        self.load_trust(self.relay.get_untracked());
    }

    /// Sets the relays (saved in this browser).
    pub fn set_relays(self, relay: &str, others: &str) {
        let relay = Relay::new(relay).0;
        let relay = if Relay::acceptable(&relay) {
            relay
        } else {
            origin()
        };
        net::store(RELAY_KEY, Some(&relay));
        net::store(EXTRA_KEY, Some(others));
        self.relay_in_url.set(false);
        self.others.set(split_relays(others));
        self.relay.set(relay);
    }

    /// The latest epoch the light client knows (read without notifying views).
    pub fn client_epoch(&self) -> Option<u64> {
        self.shell().map(|s| s.with_client(|lc| lc.epoch()))
    }

    /// Whether the header of `epoch` is older than anything the light client can check: an epoch
    /// before the trusted checkpoint's (read without notifying views).
    pub fn before_trust(&self, epoch: u64) -> bool {
        self.shell()
            .map(|s| s.with_client(|lc| lc.validators(epoch).is_none() && epoch < lc.epoch()))
            .unwrap_or(false)
    }

    /// Runs `f` on the light client, if there is one.
    pub fn with_client<R>(&self, f: impl FnOnce(&mut LightClient) -> R) -> Option<R> {
        let r = self.shell().map(|s| s.with_client(f));
        self.client_version.update(|v| *v += 1);
        r
    }
}

/// Relay URLs separated by whitespace or commas.
pub fn split_relays(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|r| Relay::acceptable(r))
        .map(|r| Relay::new(r).0)
        .collect()
}

/// The context.
pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}
