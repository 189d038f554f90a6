//! The version of iceoryx2 this build measures, from Cargo.lock, for the tables' header.

fn main() {
    println!("cargo::rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let version = lock
        .split("[[package]]")
        .find(|package| package.contains("\nname = \"iceoryx2\"\n"))
        .and_then(|package| package.lines().find(|l| l.starts_with("version = ")))
        .map(|line| {
            line.trim_start_matches("version = ")
                .trim_matches('"')
                .to_owned()
        })
        .unwrap_or_else(|| "(version unknown)".to_owned());
    println!("cargo::rustc-env=ICEORYX2_VERSION={version}");
}
