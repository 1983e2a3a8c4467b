//! Every relay scenario against the `iorelay-std` binary (serve without --conformance) over loopback.

use iorelay_tests::net::{binary, Net};
use iorelay_tests::relay_scenarios;

#[test]
fn every_relay_scenario_holds_over_the_std_runtime() {
    let mut server = Net::start_relay("std", binary("iorelay-std"), &[]);
    for (name, scenario) in relay_scenarios::all() {
        println!("std: {name}");
        scenario(&mut server);
    }
}
