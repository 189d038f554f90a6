//! The two CPUs of a measurement: the parent on one, each forked child on the other, and a
//! child that dies with its parent.

/// What each forked child does first: die with its parent (PR_SET_PDEATHSIG), so that a
/// benchmark stopped by Ctrl-C or SIGKILL leaves no process spinning or waiting; then move to
/// the second CPU.
pub fn child_setup(parent: libc::pid_t) {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes plain values.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    // The parent may have died before the prctl: then this process already has a new parent.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != parent {
        common::exit_child(1);
    }
    pin_to_cpu(1);
}

/// The CPUs this program may run on, read once, before anything is pinned (a forked child
/// inherits the list with the rest of the parent's memory).
pub fn allowed_cpus() -> &'static [usize] {
    static CPUS: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    CPUS.get_or_init(|| {
        // SAFETY: a zeroed cpu_set_t is an empty set, which sched_getaffinity fills in.
        let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `allowed` is a valid cpu_set_t of the size passed.
        if unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut allowed) } != 0 {
            return Vec::new();
        }
        // SAFETY: CPU_ISSET only reads the set.
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &allowed) })
            .collect()
    })
}

/// Runs this process on the `nth` CPU it may use (0 for the parent, 1 for a child), so the
/// two sides of a transport run on two cores. Returns false if there are fewer than two.
pub fn pin_to_cpu(nth: usize) -> bool {
    let cpus = allowed_cpus();
    if cpus.len() < 2 {
        return false;
    }
    // SAFETY: a zeroed cpu_set_t is an empty set.
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes into the set it is given; the index is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpus[nth % cpus.len()], &mut one) };
    // SAFETY: `one` is a valid cpu_set_t of the size passed.
    unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &one) == 0 }
}
