//! Every relay scenario against the `iorelay` binary (serve without --conformance) over loopback.

use iorelay_tests::net::{binary, Net};
use iorelay_tests::relay_scenarios;

#[test]
fn every_relay_scenario_holds_over_the_smol_runtime() {
    let mut server = Net::start_relay("smol", binary("iorelay"), &[]);
    for (name, scenario) in relay_scenarios::all() {
        println!("smol: {name}");
        scenario(&mut server);
    }
}
