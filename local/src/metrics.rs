//! The local server's metrics: the same EMF emitter as on AWS
//! ([`tokengate::metrics`]), flushed every second instead of after each
//! invocation. The lines go to `METRICS_FILE` if set (`make dev` sets it),
//! and add up to the one-line summary printed at exit.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokengate::env::Env;
use tokengate::metrics::{Emitter, MetricsSettings, Tally};

pub struct LocalMetrics {
    emitter: Emitter,
    state: Arc<Mutex<State>>,
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
    /// says otherwise) and starts the flushing task.
    pub fn install() -> Result<LocalMetrics, String> {
        let settings =
            MetricsSettings::read(&Env::process(), "local").map_err(|e| e.to_string())?;
        let emitter = Emitter::install(&settings)?;
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
        let state = Arc::new(Mutex::new(State {
            tally: Tally::default(),
            file,
        }));
        let (task_state, task_emitter) = (state.clone(), emitter);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let lines = task_emitter.flush(None);
                task_state.lock().expect("metrics state").add(&lines);
            }
        });
        Ok(LocalMetrics { emitter, state })
    }

    /// Flushes what is left and sums everything up in one line.
    pub fn finish(&self) -> String {
        let lines = self.emitter.flush(None);
        let mut state = self.state.lock().expect("metrics state");
        state.add(&lines);
        state.tally.summary()
    }
}
