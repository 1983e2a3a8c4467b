//! Every runtime behaviour against the `iorelay` binary.

use iorelay_tests::process::RuntimeUnderTest;
use iorelay_tests::runtime_scenarios;

#[test]
fn every_runtime_behaviour_holds_in_the_smol_binary() {
    for (name, behaviour) in runtime_scenarios::all() {
        println!("smol: {name}");
        behaviour(&RuntimeUnderTest::SMOL);
    }
}
