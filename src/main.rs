#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

#[cfg(target_os = "linux")]
unsafe extern "C" {
    fn prctl(option: std::ffi::c_int, ...) -> std::ffi::c_int;
}

/// Linux's `PR_SET_THP_DISABLE`.
#[cfg(target_os = "linux")]
const PR_SET_THP_DISABLE: std::ffi::c_int = 41;

/// mimalloc's `mi_option_purge_delay` (milliseconds; 1000 by default in the version built).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
/// mimalloc's `mi_option_allow_thp` (1 by default).
const MI_OPTION_ALLOW_THP: std::ffi::c_int = 43;

fn main() {
    // Only when the purge delay holds the default of the mimalloc version these indices are
    // from, so that another version's layout changes nothing.
    unsafe {
        if mi_option_get(MI_OPTION_PURGE_DELAY) == 1000 && mi_option_get(MI_OPTION_ALLOW_THP) == 1 {
            // Memory the allocator frees (each file's parse, once decoded) goes back to the
            // system after 10 ms rather than a second: the run's peak RSS follows what it
            // keeps. At once (0) costs more time in page faults for no less memory.
            mi_option_set(MI_OPTION_PURGE_DELAY, 10);
            // No transparent huge pages: one touched byte would make 2 MiB resident, and what
            // is kept is spread thin (a sixth of the peak RSS on a 4000-namespace repository).
            // The allocator reads its option when it starts, before `main`, so the process is
            // also told directly; the kernel checks that at each page fault.
            mi_option_set(MI_OPTION_ALLOW_THP, 0);
            #[cfg(target_os = "linux")]
            {
                // The kernel refuses the call unless the three unused arguments are zero.
                let (on, unused): (std::ffi::c_ulong, std::ffi::c_ulong) = (1, 0);
                prctl(PR_SET_THP_DISABLE, on, unused, unused, unused);
            }
        }
    }
    std::process::exit(imds_lint::cli::main());
}
