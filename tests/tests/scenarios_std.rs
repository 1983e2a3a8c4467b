//! Every scenario against the `iorelay-std` binary over loopback.

use iorelay_tests::net::{binary, Net};
use iorelay_tests::scenarios;

#[test]
fn every_scenario_holds_over_the_std_runtime() {
    let mut server = Net::start("std", binary("iorelay-std"), &[]);
    for (name, scenario) in scenarios::all() {
        println!("std: {name}");
        scenario(&mut server);
    }
}
