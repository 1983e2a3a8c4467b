//! The fault scenarios (issue 5 item 8) against the `iorelay-std` binary, one after another so
//! their memory and latency measurements do not overlap.

use iorelay_tests::faults;
use iorelay_tests::process::RuntimeUnderTest;

#[test]
fn every_fault_scenario_holds_in_the_std_binary() {
    for (name, scenario) in faults::all() {
        println!("std: {name}");
        scenario(&RuntimeUnderTest::STD);
    }
}
