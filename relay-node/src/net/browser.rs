//! The browser wire (`/trustchain/relay/1`, docs/wire.md): each request answered from the store
//! and the chain snapshot by [`crate::query`], the same answers as the HTTP API.

use super::*;

/// Answers one request from the store and the chain snapshot.
pub(crate) async fn answer(
    store: Arc<Store>,
    mut chain: watch::Receiver<Arc<ChainSnapshot>>,
    req: Request,
    misbehave: Option<crate::node::misbehave::Misbehave>,
) -> Response {
    let err = |e: query::QueryError| Response::Error {
        code: e.code.to_string(),
        message: e.message,
    };
    match req {
        Request::Trust => Response::Trust(chain.borrow().trust()),
        Request::Head { after } => {
            let wait = chain.wait_for(|s| s.head.header.height > after);
            let _ = tokio::time::timeout(HEAD_POLL, wait).await;
            let snap = chain.borrow().clone();
            Response::Block {
                header: snap.head.header.clone(),
                certificate: snap.head.certificate.clone(),
            }
        }
        Request::Block { height } => match store.read().and_then(|v| v.block(height)) {
            Ok(Some(b)) => Response::Block {
                header: b.header,
                certificate: b.certificate,
            },
            Ok(None) => Response::Error {
                code: "not_found".into(),
                message: format!("no block at height {height} yet"),
            },
            Err(e) => err(e.into()),
        },
        Request::EpochChanges { from_epoch } => {
            match store
                .read()
                .and_then(|v| v.epoch_changes(from_epoch, wire::MAX_EPOCH_CHANGES as usize))
            {
                Ok(changes) => Response::EpochChanges {
                    changes,
                    current: chain.borrow().validators.clone(),
                },
                Err(e) => err(e.into()),
            }
        }
        Request::Record { scenario, index } => {
            let snap = chain.borrow().clone();
            match query::record_proof(&store, &snap, &scenario, index, misbehave) {
                Ok(p) => Response::Record(Box::new(p)),
                Err(e) => err(e),
            }
        }
        Request::Consistency { scenario, from, to } => {
            let snap = chain.borrow().clone();
            match query::consistency_proof(&store, &snap, &scenario, from, (to != 0).then_some(to))
            {
                Ok((from, to, proof)) => Response::Consistency { from, to, proof },
                Err(e) => err(e),
            }
        }
    }
}
