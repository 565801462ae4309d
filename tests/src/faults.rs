//! Faults injected between the SDK and DynamoDB Local, on the next
//! `TransactWriteItems` requests a service sends: their answers lost (as if
//! the SDK had timed out and DynamoDB were still applying it), or the
//! request held back until the test lets it go (to land a concurrent write
//! exactly between a handler's read and its write).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

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
    counter_writes_to_collide: AtomicU32,
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

    /// The next `n` single-item writes on a throttle counter (`LOGINFAIL#…`)
    /// collide with a transaction on that item: DynamoDB does not apply
    /// them (they are sent to a table that does not exist) and the SDK
    /// receives `TransactionConflictException`, as while a login's
    /// transaction holds the counter.
    pub fn collide_counter_writes(&self, n: u32) {
        self.0.counter_writes_to_collide.store(n, Ordering::SeqCst);
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

/// Marks one request (in its own config bag) whose answer is replaced.
#[derive(Debug, Clone)]
struct Colliding;

impl Storable for Colliding {
    type Storer = StoreReplace<Self>;
}

fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn replace_answer(context: &mut BeforeDeserializationInterceptorContextMut<'_>, error: &str) {
    let body =
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{error}","message":"injected"}}"#);
    let response = context.response_mut();
    *response.status_mut() = 400u16.try_into().expect("a status code");
    response
        .headers_mut()
        .insert("content-length", body.len().to_string());
    *response.body_mut() = SdkBody::from(body);
}

impl Intercept for Faults {
    fn name(&self) -> &'static str {
        "Faults"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request_mut();
        let is_update = request
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with(".UpdateItem"));
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned());
        let Some(body) = body.filter(|b| is_update && b.contains(r#""S":"LOGINFAIL#"#)) else {
            return Ok(());
        };
        if !take_one(&self.0.counter_writes_to_collide) {
            return Ok(());
        }
        // Not applied: the table does not exist.
        let start = body.find(r#""TableName":""#).expect("a table name") + 13;
        let end = start + body[start..].find('"').expect("a closed string");
        let body = format!("{}injected-no-such-table{}", &body[..start], &body[end..]);
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *request.body_mut() = SdkBody::from(body);
        cfg.interceptor_state().store_put(Colliding);
        Ok(())
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
        if take_one(&self.0.answers_to_lose) {
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
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if self.0.losing_this_answer.swap(false, Ordering::SeqCst) {
            replace_answer(context, "TransactionInProgressException");
        } else if cfg.load::<Colliding>().is_some() {
            // This attempt's mark only: the next attempt is marked anew.
            cfg.interceptor_state().unset::<Colliding>();
            replace_answer(context, "TransactionConflictException");
        }
        Ok(())
    }
}
