//! The local server's metrics: the same EMF emitter as on AWS
//! ([`tokengate::metrics`]), flushed after each request as a function
//! flushes after each invocation (so the authorizer's latency histogram
//! never holds more than one request's worth). The lines go to
//! `METRICS_FILE` if set (`make dev` sets it), and add up to the one-line
//! summary printed at exit.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use tokengate::env::Env;
use tokengate::metrics::{Emitter, MetricsSettings, Tally};

/// The process's metrics, once installed (the server's `main` does; tests
/// that build a [`crate::Gateway`] without it emit nothing).
static INSTALLED: OnceLock<LocalMetrics> = OnceLock::new();

pub struct LocalMetrics {
    emitter: Emitter,
    state: Mutex<State>,
}

struct State {
    tally: Tally,
    file: Option<std::fs::File>,
}

impl State {
    fn add(&mut self, lines: &[u8]) {
        if lines.is_empty() {
            return;
        }
        self.tally.add(lines);
        if let Some(file) = &mut self.file {
            if let Err(e) = file.write_all(lines) {
                tracing::warn!(error = %e, "writing METRICS_FILE failed; no more lines go there");
                self.file = None;
            }
        }
    }
}

impl LocalMetrics {
    /// Installs the emitter (service `local` unless `POWERTOOLS_SERVICE_NAME`
    /// says otherwise), once per process.
    pub fn install() -> Result<&'static LocalMetrics, String> {
        let settings =
            MetricsSettings::read(&Env::process(), "local").map_err(|e| e.to_string())?;
        let file = match std::env::var("METRICS_FILE") {
            Ok(path) if !path.trim().is_empty() => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| format!("METRICS_FILE {path}: {e}"))?,
            ),
            _ => None,
        };
        let emitter = Emitter::install(&settings)?;
        let metrics = LocalMetrics {
            emitter,
            state: Mutex::new(State {
                tally: Tally::default(),
                file,
            }),
        };
        Ok(INSTALLED.get_or_init(|| metrics))
    }

    fn flush(&self) {
        let lines = self.emitter.flush(None);
        self.state.lock().expect("metrics state").add(&lines);
    }

    /// Flushes what is left and sums everything up in one line.
    pub fn finish(&self) -> String {
        self.flush();
        self.state.lock().expect("metrics state").tally.summary()
    }
}

/// What a request leaves behind: its EMF lines, flushed.
pub fn after_request() {
    if let Some(metrics) = INSTALLED.get() {
        metrics.flush();
    }
}
