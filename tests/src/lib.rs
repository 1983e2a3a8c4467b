//! Scenario harness shared by the simulator and both runtimes.
