//! A lean idle footprint from mimalloc. By default it commits whole arenas
//! up front and returns freed pages only when later work triggers a purge,
//! so an idle server held ~30 MB it did not use. Its options are read from
//! the environment when it starts, before `main`; so the first start sets
//! them and runs the same binary again. Values an operator set are kept
//! (e.g. `MIMALLOC_PURGE_DELAY=10` for the last bit of throughput).

/// Set once the options are in place, so the second start goes on.
const MARK: &str = "SWITCHBOARD_ALLOCATOR_OPTIONS";

const OPTIONS: [(&str, &str); 2] = [
    // Commit arena memory as it is used, not all at once.
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    // Give freed pages back at once instead of when more work comes.
    ("MIMALLOC_PURGE_DELAY", "0"),
];

/// Run the binary again with the options set, unless they are (or it is
/// the second run). On any failure it carries on as it is.
#[cfg(unix)]
pub fn settle() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(MARK).is_some() || OPTIONS.iter().all(|(k, _)| std::env::var_os(k).is_some()) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = std::process::Command::new(exe);
    command.args(std::env::args_os().skip(1)).env(MARK, "1");
    for (key, value) in OPTIONS {
        if std::env::var_os(key).is_none() {
            command.env(key, value);
        }
    }
    // Returns only if the binary could not be run again.
    let error = command.exec();
    eprintln!("switchboard: could not restart with lean allocator options ({error}); going on without them");
}

#[cfg(not(unix))]
pub fn settle() {}
