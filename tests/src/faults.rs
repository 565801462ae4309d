//! Faults injected between the SDK and DynamoDB Local, on the next
//! `TransactWriteItems` requests a service sends: their answers lost (as if
//! the SDK had timed out and DynamoDB were still applying it), or the
//! request held back until the test lets it go (to land a concurrent write
//! exactly between a handler's read and its write).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;

#[derive(Clone, Default)]
pub struct Faults(Arc<Inner>);

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Faults")
    }
}

#[derive(Default)]
struct Inner {
    answers_to_lose: AtomicU32,
    losing_this_answer: AtomicBool,
    hold_next: Mutex<Option<(tokio::sync::oneshot::Sender<()>, mpsc::Receiver<()>)>>,
}

/// A transaction held before it is sent.
pub struct Held {
    reached: tokio::sync::oneshot::Receiver<()>,
    release: mpsc::Sender<()>,
}

impl Held {
    /// Resolves once the transaction is waiting.
    pub async fn reached(&mut self) {
        (&mut self.reached)
            .await
            .expect("the held transaction was sent");
    }

    /// Lets the held transaction go to DynamoDB.
    pub fn release(self) {
        let _ = self.release.send(());
    }
}

impl Faults {
    /// The next `n` transaction requests reach DynamoDB (and are applied,
    /// or not, as DynamoDB decides), but the SDK receives
    /// `TransactionInProgressException` instead of each answer.
    pub fn lose_transaction_answers(&self, n: u32) {
        self.0.answers_to_lose.store(n, Ordering::SeqCst);
    }

    /// The next transaction waits, before it is sent, until released. Its
    /// handler must run on another worker thread than the test
    /// (`#[tokio::test(flavor = "multi_thread")]` and `tokio::spawn`): the
    /// wait blocks its thread.
    pub fn hold_next_transaction(&self) -> Held {
        let (reached_tx, reached) = tokio::sync::oneshot::channel();
        let (release, release_rx) = mpsc::channel();
        *self.0.hold_next.lock().unwrap() = Some((reached_tx, release_rx));
        Held { reached, release }
    }
}

fn is_transaction(context: &BeforeTransmitInterceptorContextRef<'_>) -> bool {
    context
        .request()
        .headers()
        .get("x-amz-target")
        .is_some_and(|t| t.ends_with(".TransactWriteItems"))
}

impl Intercept for Faults {
    fn name(&self) -> &'static str {
        "Faults"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if !is_transaction(context) {
            return Ok(());
        }
        let lose = self
            .0
            .answers_to_lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if lose.is_ok() {
            self.0.losing_this_answer.store(true, Ordering::SeqCst);
        }
        let hold = self.0.hold_next.lock().unwrap().take();
        if let Some((reached, release)) = hold {
            let _ = reached.send(());
            let _ = release.recv();
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if !self.0.losing_this_answer.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionInProgressException","message":"injected: the transaction is being applied"}"#;
        let response = context.response_mut();
        *response.status_mut() = 400u16.try_into().expect("a status code");
        response
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *response.body_mut() = SdkBody::from(body);
        Ok(())
    }
}
