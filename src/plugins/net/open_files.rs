//! The open-file limit a server needs: every connection is a file. Raised at start to what
//! `max_connections` needs (within the hard limit); when the hard limit is lower, the
//! connection cap is lowered to fit, so newcomers past it are told "the server is full"
//! rather than left hanging by a failing `accept`.

/// Files the process needs besides its connections (runtime, listener, logs, gallery saves),
/// unless `CATCHMIND_SPARE_FILES` says otherwise (tests set it to 0 to run out of descriptors
/// on purpose).
pub const RESERVED_FILES: u64 = 64;

fn reserved_files() -> u64 {
    std::env::var("CATCHMIND_SPARE_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RESERVED_FILES)
}

/// The connection cap that the open-file limit allows, after raising the soft limit as far as
/// needed and allowed; `None` where there is no such limit to manage.
// `rlim_t` is u64 on Linux and macOS but signed on some BSDs: the casts are for those.
#[allow(clippy::unnecessary_cast)]
pub fn fit_connections(wanted: usize) -> Option<usize> {
    #[cfg(unix)]
    {
        let reserved = reserved_files();
        let need = wanted as u64 + reserved;
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
        let allowed = (limit.rlim_cur as u64).saturating_sub(reserved) as usize;
        Some(wanted.min(allowed))
    }
    #[cfg(not(unix))]
    {
        let _ = wanted;
        None
    }
}

/// One descriptor kept open and spare: when `accept` fails for want of descriptors, it is
/// closed for a moment so the newcomer can be accepted and told the server is full, rather than
/// left waiting in the queue.
pub struct SpareFile(Option<std::fs::File>);

impl SpareFile {
    pub fn new() -> Self {
        Self(Self::open())
    }

    fn open() -> Option<std::fs::File> {
        #[cfg(unix)]
        return std::fs::File::open("/dev/null").ok();
        #[cfg(not(unix))]
        return None;
    }

    /// Whether `error` is the process (or system) being out of descriptors.
    pub fn out_of_files(error: &std::io::Error) -> bool {
        #[cfg(unix)]
        return matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
        #[cfg(not(unix))]
        return {
            let _ = error;
            false
        };
    }

    /// Frees the spare descriptor (if held) for one accept; whether there was one.
    pub fn release(&mut self) -> bool {
        self.0.take().is_some()
    }

    /// Takes a spare descriptor again (if one can be had now).
    pub fn restore(&mut self) {
        if self.0.is_none() {
            self.0 = Self::open();
        }
    }
}

impl Default for SpareFile {
    fn default() -> Self {
        Self::new()
    }
}
