//! Starting `osprey trace -- CMD ARGS` so that nothing it does escapes the tracer: the child is
//! forked first and waits on a pipe; the tracer loads with the child's PID in its scope and
//! only then lets it `exec`.

use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// A forked child held before its `exec`.
#[derive(Debug)]
pub struct HeldChild {
    /// The child's PID.
    pub pid: u32,
    release_fd: libc::c_int,
    released: bool,
}

impl HeldChild {
    /// Forks a child that will exec `argv` (searched in `PATH`) once released.
    pub fn spawn(argv: &[OsString]) -> io::Result<HeldChild> {
        if argv.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no command given",
            ));
        }
        // Everything the child needs is prepared before fork: after fork in a multi-threaded
        // process, the child may only make async-signal-safe calls (read, execvp, _exit).
        let cargs: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "argument holds a NUL byte")
            })?;
        let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let (read_fd, write_fd) = (fds[0], fds[1]);
        // SAFETY: fork has no preconditions; the child branch below only calls
        // async-signal-safe functions (close, read, execvp, _exit) on memory prepared before.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let err = io::Error::last_os_error();
            // SAFETY: both fds were returned by pipe2 above and are closed once.
            unsafe {
                libc::close(read_fd);
                libc::close(write_fd);
            }
            return Err(err);
        }
        if pid == 0 {
            // SAFETY: in the child: close the write end, wait for one byte (or EOF), exec.
            // `ptrs` is a NULL-terminated array of valid C strings that outlive this call.
            unsafe {
                libc::close(write_fd);
                let mut b = 0u8;
                let n = libc::read(read_fd, (&mut b as *mut u8).cast(), 1);
                if n != 1 {
                    // the tracer went away without releasing us
                    libc::_exit(126);
                }
                libc::execvp(ptrs[0], ptrs.as_ptr());
                libc::_exit(127);
            }
        }
        // SAFETY: the parent no longer needs the read end, returned by pipe2 above.
        unsafe { libc::close(read_fd) };
        Ok(HeldChild {
            pid: pid as u32,
            release_fd: write_fd,
            released: false,
        })
    }

    /// Lets the child exec.
    pub fn release(&mut self) -> io::Result<()> {
        if self.released {
            return Ok(());
        }
        let b = 1u8;
        // SAFETY: release_fd is the open write end of the pipe, written once.
        let n = unsafe { libc::write(self.release_fd, (&b as *const u8).cast(), 1) };
        self.released = true;
        // SAFETY: closing the write end we own.
        unsafe { libc::close(self.release_fd) };
        if n != 1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The child's exit status as a shell reports it (128 + signal when killed), or None while
    /// it runs.
    pub fn try_wait(&self) -> io::Result<Option<i32>> {
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(self.pid as libc::pid_t, &mut status, libc::WNOHANG) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        if r == 0 {
            return Ok(None);
        }
        if libc::WIFSTOPPED(status) {
            // The command asked to be traced by its parent (PTRACE_TRACEME), which is us: let
            // it go rather than leave it stopped forever.
            // SAFETY: PTRACE_DETACH on our own stopped tracee, no pointers involved.
            unsafe {
                libc::ptrace(
                    libc::PTRACE_DETACH,
                    self.pid as libc::pid_t,
                    std::ptr::null_mut::<libc::c_void>(),
                    std::ptr::null_mut::<libc::c_void>(),
                )
            };
            return Ok(None);
        }
        Ok(Some(decode_status(status)))
    }
}

impl Drop for HeldChild {
    fn drop(&mut self) {
        if !self.released {
            // closing the pipe makes the child _exit(126) instead of running unobserved
            // SAFETY: closing the write end we own, once.
            unsafe { libc::close(self.release_fd) };
            self.released = true;
            let mut status = 0;
            // SAFETY: reaping our own child with a valid status pointer.
            unsafe { libc::waitpid(self.pid as libc::pid_t, &mut status, 0) };
        }
    }
}

fn decode_status(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_child_runs_only_when_released_and_reports_its_status() {
        let mut c = HeldChild::spawn(&["sh".into(), "-c".into(), "exit 7".into()]).unwrap();
        assert_eq!(c.try_wait().unwrap(), None);
        c.release().unwrap();
        let status = loop {
            if let Some(s) = c.try_wait().unwrap() {
                break s;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(status, 7);
    }

    #[test]
    fn missing_command_is_127() {
        let mut c = HeldChild::spawn(&["/nonexistent/osprey-test-cmd".into()]).unwrap();
        c.release().unwrap();
        let status = loop {
            if let Some(s) = c.try_wait().unwrap() {
                break s;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(status, 127);
    }

    #[test]
    fn dropping_an_unreleased_child_reaps_it() {
        let c = HeldChild::spawn(&["true".into()]).unwrap();
        let pid = c.pid;
        drop(c);
        assert!(!std::path::Path::new(&format!("/proc/{pid}/exe")).exists());
    }
}
