//! The thread that runs a [`Machine`] against the real clock: two bounded input lanes (the
//! urgent one read first), a sleep towards [`Machine::poll_timeout`], and the machine's effects
//! forwarded to the network layer. The only clock reads of the relay's behaviour are here.

use tokio::sync::mpsc;

use super::{Input, Machine, Now, Output, Peer};
use crate::consensus::codec::NetMessage;

/// Messages each lane of the driver's input holds before `try_send` refuses.
pub const LANE: usize = 4096;

impl<P> Input<P> {
    /// Whether the input goes in the urgent lane: what consensus needs to make progress
    /// (votes, proposals, final blocks, sync answers, new peers) and `Stop`.
    fn urgent(&self) -> bool {
        match self {
            Input::Net { msg, .. } => matches!(
                msg,
                NetMessage::Consensus(_) | NetMessage::Liveness(_) | NetMessage::Block(_)
            ),
            Input::Synced { .. } | Input::PeerConnected(_) | Input::Stop => true,
            _ => false,
        }
    }
}

/// The driver's input: two bounded lanes, the urgent one read first.
#[derive(Clone)]
pub struct Inbox<P> {
    urgent: crossbeam_channel::Sender<Input<P>>,
    bulk: crossbeam_channel::Sender<Input<P>>,
}

/// The receiving side of [`Inbox`].
struct InboxRx<P> {
    urgent: crossbeam_channel::Receiver<Input<P>>,
    bulk: crossbeam_channel::Receiver<Input<P>>,
}

/// An input the driver did not take: its lane was full, or the driver has stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the consensus driver did not take the input (busy or stopped)")]
pub struct NotTaken;

impl<P> Inbox<P> {
    fn lane(&self, input: &Input<P>) -> &crossbeam_channel::Sender<Input<P>> {
        if input.urgent() {
            &self.urgent
        } else {
            &self.bulk
        }
    }

    /// Queues `input` in its lane; refused if that lane is full or the driver gone.
    pub fn try_send(&self, input: Input<P>) -> Result<(), NotTaken> {
        self.lane(&input).try_send(input).map_err(|_| NotTaken)
    }

    /// Queues `input`, waiting for room; refused if the driver is gone.
    pub fn send(&self, input: Input<P>) -> Result<(), NotTaken> {
        self.lane(&input).send(input).map_err(|_| NotTaken)
    }
}

/// Starts `machine` on its own thread; its effects go to `net`. Returns its input.
pub fn spawn<P: Peer>(
    machine: Machine<P>,
    net: mpsc::UnboundedSender<Output<P>>,
) -> std::io::Result<(Inbox<P>, std::thread::JoinHandle<()>)> {
    let (urgent, urgent_rx) = crossbeam_channel::bounded(LANE);
    let (bulk, bulk_rx) = crossbeam_channel::bounded(LANE);
    let rx = InboxRx {
        urgent: urgent_rx,
        bulk: bulk_rx,
    };
    let handle = std::thread::Builder::new()
        .name("consensus".into())
        .spawn(move || run(machine, rx, net))?;
    Ok((Inbox { urgent, bulk }, handle))
}

/// Runs until [`Input::Stop`] or until every sender is gone.
fn run<P: Peer>(mut machine: Machine<P>, rx: InboxRx<P>, net: mpsc::UnboundedSender<Output<P>>) {
    loop {
        let now = Now::real();
        let wake = machine.poll_timeout();
        // Consensus first: a flood of checkpoints and reports must not delay (or, when the
        // bulk lane is full, drop) the votes that make blocks final.
        // `None`: a timer is due; `Some(None)`: every sender is gone.
        let got = crossbeam_channel::select_biased! {
            recv(rx.urgent) -> m => Some(m.ok()),
            recv(rx.bulk) -> m => Some(m.ok()),
            default(wake.saturating_duration_since(now.at)) => None,
        };
        let now = Now::real();
        match got {
            Some(Some(Input::Stop) | None) => break,
            Some(Some(input)) => machine.handle_input(now, input),
            None => {}
        }
        machine.handle_timeout(now);
        while let Some(out) = machine.poll_output() {
            let _ = net.send(out);
        }
    }
    machine.shutdown();
}

impl Now {
    /// The real clocks (for the shell).
    pub fn real() -> Now {
        Now {
            at: std::time::Instant::now(),
            wall_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }
}
