//! Every scenario against the in-process simulator on virtual time.

use iorelay_core::Config;
use iorelay_tests::scenarios;
use iorelay_tests::sim::Sim;

#[test]
fn every_scenario_holds_in_the_simulator() {
    for (name, scenario) in scenarios::all() {
        let mut sim = Sim::new(Config::conformance());
        println!("sim: {name}");
        scenario(&mut sim);
    }
}
