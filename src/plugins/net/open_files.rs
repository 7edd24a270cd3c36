//! The open-file limit a server needs: every connection is a file. Raised at start to what
//! `max_connections` needs (within the hard limit); when the hard limit is lower, the
//! connection cap is lowered to fit, so newcomers past it are told "the server is full"
//! rather than left hanging by a failing `accept`.

/// Files the process needs besides its connections (runtime, listener, logs, gallery saves).
pub const RESERVED_FILES: u64 = 64;

/// The connection cap that the open-file limit allows, after raising the soft limit as far as
/// needed and allowed; `None` where there is no such limit to manage.
// `rlim_t` is u64 on Linux and macOS but signed on some BSDs: the casts are for those.
#[allow(clippy::unnecessary_cast)]
pub fn fit_connections(wanted: usize) -> Option<usize> {
    #[cfg(unix)]
    {
        let need = wanted as u64 + RESERVED_FILES;
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct it is given; nothing else is touched.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if (limit.rlim_cur as u64) < need {
            let raised = libc::rlimit {
                rlim_cur: need.min(limit.rlim_max as u64) as libc::rlim_t,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: as above; a refusal leaves the limit as it was.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit.rlim_cur = raised.rlim_cur;
            }
        }
        let allowed = (limit.rlim_cur as u64).saturating_sub(RESERVED_FILES) as usize;
        Some(wanted.min(allowed))
    }
    #[cfg(not(unix))]
    {
        let _ = wanted;
        None
    }
}
