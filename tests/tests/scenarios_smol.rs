//! Every scenario against the `iorelay` binary over loopback.

use iorelay_tests::net::{binary, Net};
use iorelay_tests::scenarios;

#[test]
fn every_scenario_holds_over_the_smol_runtime() {
    let mut server = Net::start("smol", binary("iorelay"), &[]);
    for (name, scenario) in scenarios::all() {
        println!("smol: {name}");
        scenario(&mut server);
    }
}
