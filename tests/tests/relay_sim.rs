//! Every relay scenario against the in-process simulator (relay mode) on virtual time.

use iorelay_core::Config;
use iorelay_tests::relay_scenarios;
use iorelay_tests::sim::Sim;

#[test]
fn every_relay_scenario_holds_in_the_simulator() {
    let mut sim = Sim::new(Config::default());
    for (name, scenario) in relay_scenarios::all() {
        println!("sim: {name}");
        scenario(&mut sim);
    }
}
