//! Snapshots of the matrix's renderings from a fixed run (`tests/fixtures/run.json`, a
//! subset of a real run with the machine details fixed), so a change to the tables shows up
//! in review.

use bench_matrix::{Run, render};

fn fixture() -> Run {
    serde_json::from_str(include_str!("fixtures/run.json")).expect("the fixture parses")
}

#[test]
fn matrix_markdown() {
    insta::assert_snapshot!(render::matrix_md(&fixture()));
}

#[test]
fn results_csv() {
    insta::assert_snapshot!(render::csv(&fixture()));
}

#[test]
fn crossover_markdown() {
    insta::assert_snapshot!(render::crossover_md(&fixture()));
}

#[test]
fn merge_keeps_machines_apart() {
    let a = fixture();
    let mut b = fixture();
    b.machines[0].label = "aarch64 (qemu-user)".into();
    b.machines[0].emulated = true;
    for r in &mut b.records {
        r.machine = "aarch64 (qemu-user)".into();
    }
    let merged = Run::merge([a.clone(), b, a.clone()]);
    assert_eq!(merged.machines.len(), 2);
    assert_eq!(merged.records.len(), 2 * a.records.len());
    let md = render::matrix_md(&merged);
    assert!(
        md.contains("## aarch64 (qemu-user)") && md.contains("emulated: not a hardware timing")
    );
}

#[test]
fn a_paired_floor_ratio_is_the_rows_ratio() {
    let mut run = fixture();
    let at = run
        .records
        .iter()
        .position(|r| r.implementation == "ffikit" && r.caller == "rust-typed")
        .expect("a typed ffikit row in the fixture");
    let from_medians = run.floor_ratio(&run.records[at]).unwrap();
    assert!((from_medians - 1.234).abs() > 1e-6);
    assert!(
        !render::matrix_md(&run).contains("(1.23x)") && !render::csv(&run).contains(",1.2340\n")
    );
    run.records[at].paired_floor_ratio = Some(1.234);
    assert_eq!(run.floor_ratio(&run.records[at]), Some(1.234));
    let row = &run.records[at];
    let floor = run.floor_of(row).unwrap();
    assert_eq!(run.floor_ratio(floor), Some(1.0));
    assert!(render::csv(&run).contains(",1.2340\n"));
    assert!(render::matrix_md(&run).contains("(1.23x)"));
    // Written only when present, read back as absent when missing.
    let json = serde_json::to_string(&run).unwrap();
    assert_eq!(json.matches("paired_floor_ratio").count(), 1);
    let back: Run = serde_json::from_str(&json).unwrap();
    assert_eq!(back, run);
}
