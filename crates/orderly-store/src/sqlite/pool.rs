//! A small pool of read-only connections. WAL lets readers run beside the writer; the
//! queries are blocking, so each runs on tokio's blocking threads.

use crate::error::StoreError;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub(crate) struct ReadPool {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    pub(crate) fn new(connections: Vec<Connection>) -> Self {
        let permits = Arc::new(Semaphore::new(connections.len()));
        ReadPool {
            idle: Arc::new(Mutex::new(connections)),
            permits,
        }
    }

    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("read pool closed".into()))?;
        let idle = self.idle.clone();
        tokio::task::spawn_blocking(move || {
            let conn = idle
                .lock()
                .map_err(|_| StoreError::Unavailable("read pool poisoned".into()))?
                .pop()
                .ok_or_else(|| StoreError::Unavailable("no idle read connection".into()))?;
            let result = f(&conn);
            if let Ok(mut pool) = idle.lock() {
                pool.push(conn);
            }
            drop(permit);
            result
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("read task failed: {e}")))?
    }
}
