//! DynamoDB Local for the tests: the suite's shared one, or one of a test's
//! own that it can stop, restart, freeze and thaw; clients that count calls.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::Client;
use tokengate::store::Resilience;

static ENDPOINT: OnceLock<String> = OnceLock::new();
/// Keeps the watchdog's stdin open: when this process exits, the pipe
/// closes and the watchdog stops DynamoDB Local.
static WATCHDOG: Mutex<Option<Child>> = Mutex::new(None);

pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Starts DynamoDB Local on `port`, tied to this process's lifetime.
pub fn spawn_dynamodb_local(port: u16) -> Child {
    let script = repo_root().join("scripts/dynamodb-local.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg("install")
        .stdout(Stdio::null())
        .status()
        .expect("run scripts/dynamodb-local.sh install");
    assert!(status.success(), "installing DynamoDB Local failed");
    Command::new("sh")
        .arg("-c")
        .arg(r#"bash "$0" run "$1" >/dev/null 2>&1 & pid=$!; read _; kill $pid"#)
        .arg(&script)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .spawn()
        .expect("start DynamoDB Local")
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The DynamoDB Local endpoint for this test process.
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        if let Ok(endpoint) = std::env::var("DYNAMODB_ENDPOINT") {
            return endpoint;
        }
        let port = free_port();
        let child = spawn_dynamodb_local(port);
        *WATCHDOG.lock().unwrap() = Some(child);
        assert!(
            wait_for_port(port, Duration::from_secs(90)),
            "DynamoDB Local did not start on port {port}"
        );
        format!("http://127.0.0.1:{port}")
    })
}

/// Stops a DynamoDB Local started by [`spawn_dynamodb_local`].
pub fn stop_dynamodb_local(mut child: Child) {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let _ = child.wait();
}

/// Records each request the SDK sends (retries included), by operation.
#[derive(Debug, Default, Clone)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.split('.').nth(1))
            .unwrap_or("unknown")
            .to_string();
        self.0.lock().unwrap().push(operation);
        Ok(())
    }
}

/// Timeouts for the suite's clients. The shared DynamoDB Local serves the
/// whole parallel suite on 2 cores, cold JVM included: a slow answer there
/// is not the fault under test (`store_faults` tests the functions' own
/// [`Resilience::DEFAULT`] on a DynamoDB Local of their own).
pub const SUITE_RESILIENCE: Resilience = Resilience {
    attempt_timeout: Duration::from_secs(10),
    operation_timeout: Duration::from_secs(30),
    ..Resilience::DEFAULT
};

/// A DynamoDB client for `endpoint` with fake static credentials.
pub fn client_for(endpoint: &str, calls: CallLog) -> Client {
    client_with(endpoint, calls, SUITE_RESILIENCE)
}

/// [`client_for`] with the given timeouts and retries.
pub fn client_with(endpoint: &str, calls: CallLog, resilience: Resilience) -> Client {
    let config = resilience
        .apply(aws_sdk_dynamodb::Config::builder())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(endpoint)
        .interceptor(calls)
        .build();
    Client::from_conf(config)
}

/// [`client_for`] with `faults` the test can inject.
pub fn client_with_faults(endpoint: &str, calls: CallLog, faults: crate::faults::Faults) -> Client {
    let config = client_for(endpoint, calls)
        .config()
        .to_builder()
        .interceptor(faults)
        .build();
    Client::from_conf(config)
}

/// A DynamoDB Local of a test's own, persisted on disk, that the test can
/// stop, restart on the same port, freeze and thaw under running handlers.
pub struct OwnDynamoDb {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl OwnDynamoDb {
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("tokengate-ddb-{}", uuid::Uuid::new_v4()));
        let mut db = OwnDynamoDb {
            port: free_port(),
            dir,
            child: None,
        };
        db.restart();
        db
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port with the same data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        // The script `exec`s java: the child is the JVM itself.
        let child = Command::new("bash")
            .arg(repo_root().join("scripts/dynamodb-local.sh"))
            .arg("run")
            .arg(self.port.to_string())
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start DynamoDB Local");
        self.child = Some(child);
        assert!(
            wait_for_port(self.port, Duration::from_secs(90)),
            "DynamoDB Local did not start on port {}",
            self.port
        );
    }

    /// Kills the process: connections are refused until [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the process (SIGSTOP): connections hang, nothing answers.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Thaws a frozen process (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for OwnDynamoDb {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.thaw();
        }
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
