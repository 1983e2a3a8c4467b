//! Every runtime behaviour against the `iorelay-std` binary.

use iorelay_tests::process::RuntimeUnderTest;
use iorelay_tests::runtime_scenarios;

#[test]
fn every_runtime_behaviour_holds_in_the_std_binary() {
    for (name, behaviour) in runtime_scenarios::all() {
        println!("std: {name}");
        behaviour(&RuntimeUnderTest::STD);
    }
}
