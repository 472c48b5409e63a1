//! The output directory: `<dir>/out`, held open, and every file created under it relative to
//! directory descriptors with `O_NOFOLLOW`/`O_EXCL`, so that neither a hostile name nor a
//! symbolic link planted in `out/` can send a write elsewhere. Every created file's resolved path
//! (`/proc/self/fd/N`) is checked to be under `out/` before it is used.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::name::is_safe_component;

/// `<dir>/out`, open.
#[derive(Debug)]
pub struct OutDir {
    root: OwnedFd,
    real: PathBuf,
    dirs: HashMap<String, OwnedFd>,
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name holds a NUL byte"))
}

fn check_name(name: &str) -> io::Result<()> {
    if is_safe_component(name)
        || matches!(
            name,
            "out" | "pcap" | "processes" | "containers" | "commands"
        )
    {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing unsafe name {name:?}"),
        ))
    }
}

fn open_dir_at(parent: RawFd, name: &str) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: `c` is a valid NUL-terminated string; `parent` is an open directory descriptor.
    let fd = unsafe {
        libc::openat(
            parent,
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn mkdir_at(parent: RawFd, name: &str) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is a valid NUL-terminated string; `parent` is an open directory descriptor.
    let rc = unsafe { libc::mkdirat(parent, c.as_ptr(), 0o700) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e);
        }
    }
    Ok(())
}

fn fd_path(fd: RawFd) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
}

impl OutDir {
    /// Creates `<dir>` (and parents) and `<dir>/out`, empties `out` first with `clear`, opens it
    /// and checks that files can be created there.
    pub fn prepare(dir: &Path, clear: bool) -> io::Result<OutDir> {
        std::fs::create_dir_all(dir).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display()))
        })?;
        let out = dir.join("out");
        if let Ok(meta) = std::fs::symlink_metadata(&out) {
            if meta.file_type().is_symlink() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a symbolic link: refusing to write through it",
                        out.display()
                    ),
                ));
            }
            if clear {
                // remove_dir_all does not follow symbolic links inside
                std::fs::remove_dir_all(&out).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot clear {}: {e}", out.display()))
                })?;
            }
        }
        let parent = File::open(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", dir.display())))?;
        mkdir_at(parent.as_raw_fd(), "out").map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", out.display()))
        })?;
        let root = open_dir_at(parent.as_raw_fd(), "out")
            .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", out.display())))?;
        let real = fd_path(root.as_raw_fd())?;
        let d = OutDir {
            root,
            real,
            dirs: HashMap::new(),
        };
        // can we write here? (root may not, on a read-only filesystem)
        let probe = format!("osprey-probe-{}", std::process::id());
        let f = d.create_at(d.root.as_raw_fd(), &probe).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot write in {}: {e}", out.display()))
        })?;
        drop(f);
        d.unlink_at(d.root.as_raw_fd(), &probe)?;
        Ok(d)
    }

    /// The resolved path of `out/`.
    pub fn path(&self) -> &Path {
        &self.real
    }

    fn dir_fd(&mut self, parts: &[&str]) -> io::Result<RawFd> {
        if parts.is_empty() {
            return Ok(self.root.as_raw_fd());
        }
        let key = parts.join("/");
        if let Some(fd) = self.dirs.get(&key) {
            return Ok(fd.as_raw_fd());
        }
        let parent = self.dir_fd(&parts[..parts.len() - 1])?;
        let name = parts[parts.len() - 1];
        check_name(name)?;
        mkdir_at(parent, name)?;
        let fd = open_dir_at(parent, name)?;
        let real = fd_path(fd.as_raw_fd())?;
        if real.parent().map(|p| p.starts_with(&self.real)) != Some(true) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} resolves outside {}", key, self.real.display()),
            ));
        }
        let raw = fd.as_raw_fd();
        self.dirs.insert(key, fd);
        Ok(raw)
    }

    fn create_at(&self, dir: RawFd, name: &str) -> io::Result<File> {
        let c = cstr(name)?;
        // SAFETY: `c` is a valid NUL-terminated string; `dir` is an open directory descriptor.
        let fd = unsafe {
            libc::openat(
                dir,
                c.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: openat returned a new descriptor that nothing else owns.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    fn unlink_at(&self, dir: RawFd, name: &str) -> io::Result<()> {
        let c = cstr(name)?;
        // SAFETY: `c` is a valid NUL-terminated string; `dir` is an open directory descriptor.
        if unsafe { libc::unlinkat(dir, c.as_ptr(), 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn verify(&self, f: &File, rel: &str) -> io::Result<()> {
        let real = fd_path(f.as_raw_fd())?;
        if !real.starts_with(&self.real) || real == self.real {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{rel} resolves outside {}", self.real.display()),
            ));
        }
        Ok(())
    }

    /// Creates a new file `name` in the subdirectory `dirs` (created as needed), never
    /// overwriting: when the name is taken, `name.1`, `name.2`, ... are tried. Returns the file
    /// and its path relative to `out/`.
    pub fn create(&mut self, dirs: &[&str], name: &str) -> io::Result<(File, String)> {
        check_name(name)?;
        let dir = self.dir_fd(dirs)?;
        for n in 0..1000u32 {
            let candidate = if n == 0 {
                name.to_string()
            } else {
                format!("{name}.{n}")
            };
            match self.create_at(dir, &candidate) {
                Ok(f) => {
                    let rel = rel_path(dirs, &candidate);
                    if let Err(e) = self.verify(&f, &rel) {
                        let _ = self.unlink_at(dir, &candidate);
                        return Err(e);
                    }
                    return Ok((f, rel));
                }
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{name}: every variant of the name is taken"),
        ))
    }

    /// Opens an existing artifact again (after its descriptor was closed), for writing.
    pub fn reopen(&mut self, rel: &str) -> io::Result<File> {
        let (dirs, name) = split_rel(rel);
        let dir = self.dir_fd(&dirs)?;
        let c = cstr(name)?;
        // SAFETY: `c` is a valid NUL-terminated string; `dir` is an open directory descriptor.
        let fd = unsafe {
            libc::openat(
                dir,
                c.as_ptr(),
                libc::O_RDWR | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: openat returned a new descriptor that nothing else owns.
        let f = unsafe { File::from_raw_fd(fd) };
        self.verify(&f, rel)?;
        Ok(f)
    }

    /// Removes an artifact (a duplicate of one already captured).
    pub fn remove(&mut self, rel: &str) -> io::Result<()> {
        let (dirs, name) = split_rel(rel);
        let dir = self.dir_fd(&dirs)?;
        self.unlink_at(dir, name)
    }

    /// Renames an artifact within its directory without replacing anything; returns the new
    /// relative path (a numbered variant when the name is taken).
    pub fn rename(&mut self, rel: &str, new_name: &str) -> io::Result<String> {
        check_name(new_name)?;
        let (dirs, name) = split_rel(rel);
        let dir = self.dir_fd(&dirs)?;
        let from = cstr(name)?;
        for n in 0..1000u32 {
            let candidate = if n == 0 {
                new_name.to_string()
            } else {
                format!("{new_name}.{n}")
            };
            let to = cstr(&candidate)?;
            // SAFETY: both names are valid C strings; `dir` is an open directory descriptor.
            let rc = unsafe {
                libc::renameat2(dir, from.as_ptr(), dir, to.as_ptr(), libc::RENAME_NOREPLACE)
            };
            if rc == 0 {
                return Ok(rel_path(&dirs, &candidate));
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(e);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            new_name.to_string(),
        ))
    }

    /// Free bytes on the filesystem of `out/`.
    pub fn free_bytes(&self) -> Option<u64> {
        // SAFETY: a zeroed statvfs is a valid out-parameter; the fd is open.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is writable and the descriptor is valid.
        if unsafe { libc::fstatvfs(self.root.as_raw_fd(), &mut st) } != 0 {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
}

fn rel_path(dirs: &[&str], name: &str) -> String {
    let mut s = String::new();
    for d in dirs {
        s.push_str(d);
        s.push('/');
    }
    s.push_str(name);
    s
}

fn split_rel(rel: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = rel.split('/').collect();
    let name = parts.pop().unwrap_or("");
    (parts, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn files_are_created_exclusively_inside_out() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = OutDir::prepare(tmp.path(), false).unwrap();
        let (mut f, rel) = d.create(&["host"], "write.dev-1.inode-2").unwrap();
        f.write_all(b"x").unwrap();
        assert_eq!(rel, "host/write.dev-1.inode-2");
        let (_, rel2) = d.create(&["host"], "write.dev-1.inode-2").unwrap();
        assert_eq!(rel2, "host/write.dev-1.inode-2.1", "never overwritten");
        assert_eq!(
            std::fs::read(tmp.path().join("out/host/write.dev-1.inode-2")).unwrap(),
            b"x"
        );
        // unsafe names are refused outright
        for bad in ["..", "../x", "a/b", "", ".x"] {
            assert!(d.create(&["host"], bad).is_err(), "{bad}");
            assert!(d.create(&[bad], "f").is_err(), "{bad}");
        }
    }

    #[test]
    fn planted_symlinks_do_not_redirect_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let mut d = OutDir::prepare(&tmp.path().join("cap"), false).unwrap();
        let out = tmp.path().join("cap/out");
        std::fs::create_dir_all(out.join("host")).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("host/exec.1.ls")).unwrap();
        let (mut f, rel) = d.create(&["host"], "exec.1.ls").unwrap();
        f.write_all(b"new").unwrap();
        assert_eq!(rel, "host/exec.1.ls.1");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        // a symlinked directory is refused too
        std::os::unix::fs::symlink(tmp.path(), out.join("evil")).unwrap();
        assert!(d.create(&["evil"], "f").is_err());
        assert!(!tmp.path().join("f").exists());
        // and a symlinked out/ is refused at start
        let other = tmp.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::os::unix::fs::symlink(tmp.path(), other.join("out")).unwrap();
        assert!(OutDir::prepare(&other, false).is_err());
    }

    #[test]
    fn clear_dir_empties_out_and_an_unwritable_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("host")).unwrap();
        std::fs::write(out.join("host/old"), b"1").unwrap();
        let _ = OutDir::prepare(tmp.path(), true).unwrap();
        assert!(!out.join("host/old").exists());
        assert!(out.is_dir());
        assert!(OutDir::prepare(Path::new("/proc/osprey-cannot-exist"), false).is_err());
    }

    #[test]
    fn rename_never_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = OutDir::prepare(tmp.path(), false).unwrap();
        let (_, a) = d.create(&["host"], "a.partial").unwrap();
        let (_, b) = d.create(&["host"], "b.partial").unwrap();
        assert_eq!(d.rename(&a, "final").unwrap(), "host/final");
        assert_eq!(d.rename(&b, "final").unwrap(), "host/final.1");
        d.remove("host/final.1").unwrap();
        assert!(!tmp.path().join("out/host/final.1").exists());
    }
}
