//! Copying the remote output directory back over SFTP (`osprey trace --remote`, at stop with
//! `--remote-copy DIR` and on demand with SIGUSR1).
//!
//! What the remote side sends is hostile: a name is taken only when it is one valid path
//! component (not empty, `.` or `..`, no `/`, no NUL, no replacement character left by a name
//! that was not UTF-8, at most 255 bytes), and everything is created relative to held
//! directory descriptors with `O_NOFOLLOW`/`O_EXCL`, in a folder this copy made, so nothing
//! lands outside it. Only directories and regular files are copied: symbolic links (never
//! followed), devices, FIFOs and sockets are skipped and said so. Files are streamed in
//! chunks; their modes are kept without setuid, setgid and sticky bits (directories keep
//! theirs, with the owner's rwx added so the copy can be filled and removed).

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use russh_sftp::client::{RawSftpSession, SftpSession};
use russh_sftp::protocol::{FileAttributes, StatusCode};
use tokio::io::AsyncReadExt as _;

/// Directories deeper than this are not walked.
const MAX_DEPTH: usize = 64;
/// Entries (files, directories, skipped ones) one copy takes at most.
const MAX_ENTRIES: u64 = 1_000_000;
/// The read buffer of one file.
const CHUNK: usize = 256 * 1024;

/// What one copy did.
#[derive(Debug, Default)]
pub struct Copied {
    /// The local folder made for it.
    pub path: PathBuf,
    /// Regular files copied.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Entries skipped (not a directory or a regular file, a bad name, an error).
    pub skipped: u64,
}

/// True when `name` (from the remote side) may become one local path component.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && !name.contains(['/', '\0', char::REPLACEMENT_CHARACTER])
}

/// A local folder name made of the host's name: `/` and NUL never reach the file system.
fn folder_name(host: &str, secs: u64, n: u32) -> String {
    let host: String = host
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    let host = host.trim_start_matches('.');
    if n == 0 {
        format!("{host}-{secs}")
    } else {
        format!("{host}-{secs}-{n}")
    }
}

fn cstr(name: &str) -> std::io::Result<std::ffi::CString> {
    std::ffi::CString::new(name).map_err(|_| std::io::Error::other("a NUL in a name"))
}

/// Creates directory `name` in `parent` and opens it (never through a symbolic link).
fn make_dir(parent: &OwnedFd, name: &str) -> std::io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: a held directory descriptor and a valid C string.
    if unsafe { libc::mkdirat(parent.as_raw_fd(), c.as_ptr(), 0o700) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    open_dir(parent, name)
}

fn open_dir(parent: &OwnedFd, name: &str) -> std::io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: as above; the descriptor returned is ours.
    let fd = unsafe {
        libc::openat(
            parent.as_raw_fd(),
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new descriptor, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates the new file `name` in `parent` (never an existing one, never a link).
fn make_file(parent: &OwnedFd, name: &str) -> std::io::Result<File> {
    let c = cstr(name)?;
    // SAFETY: as above.
    let fd = unsafe {
        libc::openat(
            parent.as_raw_fd(),
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new descriptor, owned by the File.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn unlink(parent: &OwnedFd, name: &str) {
    if let Ok(c) = cstr(name) {
        // SAFETY: as above.
        unsafe { libc::unlinkat(parent.as_raw_fd(), c.as_ptr(), 0) };
    }
}

fn chmod(fd: &impl AsRawFd, mode: u32) {
    // SAFETY: fchmod on a descriptor we hold.
    unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) };
}

/// The kind of an entry, from its mode bits.
fn kind(mode: Option<u32>) -> &'static str {
    match mode.map(|m| m & libc::S_IFMT) {
        Some(libc::S_IFDIR) => "dir",
        Some(libc::S_IFREG) => "file",
        Some(libc::S_IFLNK) => "a symbolic link (not followed)",
        Some(libc::S_IFCHR) | Some(libc::S_IFBLK) => "a device",
        Some(libc::S_IFIFO) => "a FIFO",
        Some(libc::S_IFSOCK) => "a socket",
        _ => "of an unknown type",
    }
}

fn skip(copied: &mut Copied, rel: &str, why: &str) {
    copied.skipped += 1;
    // Names are hostile: escaped, so none can make a line of its own in the log.
    eprintln!("osprey: --remote: copy: skipped {rel:?}: {why}");
}

/// The entries of remote directory `path` (without `.` and `..`), read batch by batch so that
/// a server sending names without end is stopped at `budget` entries rather than held.
async fn list_dir(
    lister: &RawSftpSession,
    path: &str,
    budget: u64,
) -> anyhow::Result<Vec<(String, FileAttributes)>> {
    let handle = lister.opendir(path).await?.handle;
    let mut out = Vec::new();
    let result = loop {
        match lister.readdir(handle.as_str()).await {
            Ok(name) => {
                out.extend(
                    name.files
                        .into_iter()
                        .filter(|f| f.filename != "." && f.filename != "..")
                        .map(|f| (f.filename, f.attrs)),
                );
                if out.len() as u64 > budget {
                    break Err(anyhow::anyhow!("more than {MAX_ENTRIES} entries"));
                }
            }
            Err(russh_sftp::client::error::Error::Status(st))
                if st.status_code == StatusCode::Eof =>
            {
                break Ok(());
            }
            Err(e) => break Err(e.into()),
        }
    };
    let _ = lister.close(handle).await;
    result.map(|()| out)
}

/// Copies the remote directory `dir` into a new folder `HOST-UNIXTIME` under `dest`: listed
/// through `lister`, files read through `sftp` (two SFTP channels of one session).
pub async fn copy_dir(
    sftp: &SftpSession,
    lister: &RawSftpSession,
    host: &str,
    dir: &str,
    dest: &Path,
) -> anyhow::Result<Copied> {
    let top = sftp
        .metadata(dir)
        .await
        .map_err(|e| anyhow::anyhow!("{host}:{dir}: {e}"))?;
    if !top.file_type().is_dir() {
        bail!("{host}:{dir}: not a directory");
    }
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dest_fd = File::open(dest).with_context(|| format!("opening {}", dest.display()))?;
    let dest_fd = OwnedFd::from(dest_fd);
    let mut n = 0;
    let (name, root) = loop {
        let name = folder_name(host, secs, n);
        match make_dir(&dest_fd, &name) {
            Ok(fd) => break (name, fd),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => {
                return Err(e).with_context(|| format!("creating {name} in {}", dest.display()))
            }
        }
    };
    let mut copied = Copied {
        path: dest.join(&name),
        ..Copied::default()
    };
    let mut entries = 0u64;
    // Directories to walk: (remote path, local descriptor, path shown, depth).
    let mut stack = vec![(
        dir.trim_end_matches('/').to_string(),
        root,
        String::new(),
        0,
    )];
    if stack[0].0.is_empty() {
        stack[0].0 = "/".into();
    }
    // Directory modes, set once they are filled.
    let mut modes = Vec::new();
    modes.push((stack[0].1.try_clone()?, top.permissions));
    let mut buf = vec![0u8; CHUNK];
    while let Some((remote, local, shown, depth)) = stack.pop() {
        let list = match list_dir(lister, &remote, MAX_ENTRIES - entries).await {
            Ok(l) => l,
            Err(e) if e.to_string().starts_with("more than") => {
                bail!("{host}:{dir}: {e}: copy stopped")
            }
            Err(e) => {
                skip(&mut copied, &shown, &format!("cannot list it: {e:#}"));
                continue;
            }
        };
        for (name, attrs) in list {
            entries += 1;
            if entries > MAX_ENTRIES {
                bail!("{host}:{dir}: more than {MAX_ENTRIES} entries: copy stopped");
            }
            let rel = if shown.is_empty() {
                name.clone()
            } else {
                format!("{shown}/{name}")
            };
            if !valid_name(&name) {
                skip(&mut copied, &rel, "not a valid file name here");
                continue;
            }
            let path = if remote.ends_with('/') {
                format!("{remote}{name}")
            } else {
                format!("{remote}/{name}")
            };
            let mut mode = attrs.permissions;
            if mode.is_none() {
                mode = sftp
                    .symlink_metadata(path.as_str())
                    .await
                    .ok()
                    .and_then(|m| m.permissions);
            }
            match kind(mode) {
                "dir" => {
                    if depth + 1 > MAX_DEPTH {
                        skip(
                            &mut copied,
                            &rel,
                            &format!("deeper than {MAX_DEPTH} directories"),
                        );
                        continue;
                    }
                    match make_dir(&local, &name) {
                        Ok(fd) => {
                            modes.push((fd.try_clone()?, mode));
                            stack.push((path, fd, rel, depth + 1));
                        }
                        Err(e) => skip(&mut copied, &rel, &format!("cannot create it: {e}")),
                    }
                }
                "file" => {
                    match copy_file(sftp, &path, &local, &name, mode.unwrap_or(0), &mut buf).await {
                        Ok(n) => {
                            copied.files += 1;
                            copied.bytes += n;
                        }
                        Err(e) => skip(&mut copied, &rel, &format!("{e:#}")),
                    }
                }
                other => skip(&mut copied, &rel, other),
            }
        }
    }
    for (fd, mode) in modes.iter().rev() {
        if let Some(m) = mode {
            chmod(fd, (m & 0o777) | 0o700);
        }
    }
    Ok(copied)
}

/// Streams one remote regular file into the new local file `name`; its bytes.
async fn copy_file(
    sftp: &SftpSession,
    path: &str,
    parent: &OwnedFd,
    name: &str,
    mode: u32,
    buf: &mut [u8],
) -> anyhow::Result<u64> {
    let mut remote = sftp.open(path).await.context("cannot open it")?;
    // What was opened, rather than what was listed: a file replaced meanwhile by something
    // else is not read.
    if let Ok(m) = remote.metadata().await {
        if m.permissions.is_some() && !m.file_type().is_file() {
            bail!("no longer a regular file");
        }
    }
    let mut local = make_file(parent, name).context("cannot create it")?;
    let mut bytes = 0u64;
    let result: anyhow::Result<()> = async {
        loop {
            let n = remote.read(buf).await.context("reading it")?;
            if n == 0 {
                break;
            }
            local.write_all(&buf[..n]).context("writing it")?;
            bytes += n as u64;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        drop(local);
        unlink(parent, name);
        return Err(e);
    }
    // Its mode, without setuid, setgid and sticky bits.
    chmod(&local, mode & 0o777);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_components_are_names() {
        for good in ["a", "-rf", " x y ", "line\nbreak", "..a", "a..", "é"] {
            assert!(valid_name(good), "{good:?}");
        }
        let long = "x".repeat(256);
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "/etc",
            "../x",
            "a\0b",
            "bad\u{fffd}utf8",
            long.as_str(),
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert_eq!(folder_name("10.0.0.1", 5, 0), "10.0.0.1-5");
        assert_eq!(folder_name("../h/x", 5, 2), "_h_x-5-2");
        assert_eq!(kind(Some(0o120777)), "a symbolic link (not followed)");
        assert_eq!(kind(Some(0o100644)), "file");
        assert_eq!(kind(None), "of an unknown type");
    }
}
