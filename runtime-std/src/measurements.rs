//! Request measurements on their way to the engine, without a driver wake-up of their own
//! (both runtimes).
//!
//! Why: a request is measured once its reply is written, after the driver has handled it. Sent
//! as a message, each measurement woke the driver's thread once more per request, and on
//! ingest those thread switches, not the work, are what the server spends most on. Here
//! connections only append; the driver takes everything appended whenever it wakes for
//! anything else (the next request, a timer) and feeds it before that input, so a `/metrics`
//! or `/health` request finds every request answered before it counted.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use iorelay_core::relay::measure::Measurement;
use iorelay_core::Input;

/// Measurements waiting for the driver's next wake-up.
#[derive(Debug, Default)]
pub struct Measurements {
    pending: Mutex<Vec<(Instant, Measurement)>>,
}

impl Measurements {
    /// Records `measurement`, taken now.
    pub fn record(&self, measurement: Measurement) {
        let now = Instant::now();
        self.lock().push((now, measurement));
    }

    /// Everything recorded since the last call, oldest first, as the engine's inputs.
    pub fn take(&self) -> impl Iterator<Item = Input> {
        std::mem::take(&mut *self.lock())
            .into_iter()
            .map(|(now, measurement)| Input::Measured { now, measurement })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Instant, Measurement)>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iorelay_core::relay::measure::RouteLabel;
    use std::time::Duration;

    fn request(status: u16) -> Measurement {
        Measurement::Request {
            route: RouteLabel::Other,
            status,
            latency: Duration::from_millis(1),
        }
    }

    #[test]
    fn what_is_recorded_is_taken_once_in_order() {
        let measurements = Measurements::default();
        measurements.record(request(200));
        measurements.record(request(404));
        let statuses: Vec<u16> = measurements
            .take()
            .map(|input| match input {
                Input::Measured {
                    measurement: Measurement::Request { status, .. },
                    ..
                } => status,
                other => panic!("expected a measurement, got {other:?}"),
            })
            .collect();
        assert_eq!(statuses, [200, 404]);
        assert_eq!(measurements.take().count(), 0);
    }
}
