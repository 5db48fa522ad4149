//! Progress bars on a terminal; silence in pipes (indicatif hides itself when stderr is
//! not a terminal).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use iot_crr_engine::{ApplyProgress, ChangeResult};
use iot_crr_model::Change;

/// A progress indicator (spinner or bar).
#[derive(Clone)]
pub struct Progress(ProgressBar);

impl Progress {
    /// A spinner counting items.
    pub fn spinner(prefix: String) -> Self {
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {pos} resources, {msg} [{elapsed}]")
                .expect("valid template"),
        );
        pb.set_prefix(prefix);
        pb.enable_steady_tick(Duration::from_millis(120));
        Progress(pb)
    }

    /// Adds to the count.
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Sets the message.
    pub fn set_message(&self, msg: String) {
        self.0.set_message(msg);
    }

    /// Removes the indicator.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A bar over the changes of an apply, with an estimate of the time left.
pub struct ApplyBar(ProgressBar);

impl ApplyBar {
    /// A new, hidden-until-started bar.
    pub fn new() -> Self {
        let pb = ProgressBar::new(0);
        pb.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} changes, {per_sec}, {eta} left, {msg}",
            )
            .expect("valid template"),
        );
        ApplyBar(pb)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl ApplyProgress for ApplyBar {
    fn started(&self, total: usize) {
        self.0.set_length(total as u64);
    }

    fn finished_one(&self, change: &Change, result: &ChangeResult) {
        self.0.inc(1);
        if matches!(result, ChangeResult::Failed { .. }) {
            self.0.set_message(format!("last failure: {change}"));
        }
    }
}
