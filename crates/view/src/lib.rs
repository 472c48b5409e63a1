/*!
`osprey view`: the web UI's server.

[`open`] opens the inputs (the same [`osprey_source::Inputs`] as `osprey read`) and starts one
pass that builds the [`index::Index`]: 32 bytes per frame (where its bytes are, its time, kind,
event name and coloring rule), the bytes themselves going to a temporary *store* file so any
frame can be read again with one `pread`. The API is usable at once and sees the index grow.

The API ([`api`], documented in `docs/view-api.md`) serves, as JSON over HTTP:

- windows of rows (`offset`, `limit`): the frame numbers are a slice of the index or of a view,
  the frames one read of the store, and the profile's columns are rendered for those rows only
  ([`render::RowRenderer`], with `osprey-print`'s summary cells), so a window costs the same at
  row 0 and row 900,000;
- filtered *views* ([`views`]): a display filter (compiled by `osprey-filter`, as for `osprey
  read -Y`) is run over the index in parallel with rayon, its byte prefilter first, giving the
  sorted frame numbers that match; views are cached by filter text, can be cancelled, and
  report progress;
- the detail tree of a frame with each item's byte span ([`render::detail`]): packet fields
  carry the dissectors' spans, and event fields are located in the raw JSON line by
  [`spans`], which only gives a span whose bytes denote the item's value;
- the raw bytes of a frame, and one server-sent event stream of progress.
- the artifacts of the capture directories among the inputs ([`artifacts`]: their indexes, the
  files they list and nothing else, the runtime profile and `osprey profile diff`), and the
  marks and notes kept in a sidecar file beside the recording ([`notes`]).

The server listens on 127.0.0.1 only and refuses requests whose `Host` or `Origin` is not that
address (DNS rebinding), and requests without the random token of the URL it prints. The UI's files (`ui/`, built by Vite) are embedded with rust-embed
([`assets`]); a binary built without them says how to build them.
*/

#![deny(missing_docs)]

pub mod api;
pub mod artifacts;
pub mod assets;
pub mod export;
pub mod index;
mod job;
pub mod live;
pub mod notes;
pub mod render;
pub mod sort;
pub mod spans;
pub mod stats;
pub mod views;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use osprey_dissect::Preferences;
use osprey_print::Profile;

/// What returns a thread's freed memory to the system (the binary's allocator knows how).
static MEMORY_RELEASE: OnceLock<fn()> = OnceLock::new();

/// Sets what [`release_memory`] calls: the binary passes its allocator's release function. A
/// server lives long and its sorts and statistics free hundreds of megabytes at once, which an
/// allocator keeps for reuse unless asked.
pub fn set_memory_release(release: fn()) {
    let _ = MEMORY_RELEASE.set(release);
}

/// After a large transient computation (a job, a sort): every worker thread (whose heaps held its
/// allocations) and the caller return their free memory to the system.
pub(crate) fn release_memory() {
    if let Some(release) = MEMORY_RELEASE.get() {
        rayon::broadcast(|_| release());
        release();
    }
}

/// Why the view could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be opened.
    #[error(transparent)]
    Open(#[from] osprey_source::OpenError),
    /// The profile could not be loaded.
    #[error(transparent)]
    Profile(#[from] osprey_print::profile::ProfileError),
    /// The frame store (a temporary file) could not be made.
    #[error("cannot create the frame store (a temporary file): {0}")]
    Store(std::io::Error),
    /// A preference could not be set.
    #[error("{0}")]
    Preference(String),
    /// The server could not listen or serve.
    #[error("cannot serve on 127.0.0.1: {0}")]
    Serve(std::io::Error),
}

/// What `osprey view` was asked to open.
#[derive(Default)]
pub struct Options {
    /// Files, directories or `-`.
    pub files: Vec<String>,
    /// A configuration profile (`-C`); else `$OSPREY_PROFILE`, else the bundled one.
    pub profile: Option<PathBuf>,
    /// The port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// A live capture instead of files (`--live`).
    pub live: Option<live::LiveConfig>,
    /// Preferences (`-o NAME=VALUE`), over the profile's.
    pub preferences: Vec<String>,
    /// Where marks and notes are kept (`--notes`), instead of the sidecar beside the
    /// recording.
    pub notes: Option<PathBuf>,
}

/// Everything the handlers share.
pub struct ViewState {
    /// The index of the frames.
    pub index: Arc<index::Index>,
    /// The profile: columns, colors, macros.
    pub profile: Arc<Profile>,
    /// The preferences in use (the profile's, `-o`, then the preferences dialog's).
    preferences: std::sync::RwLock<Preferences>,
    /// The filtered views.
    pub views: views::Views,
    /// The row renderer.
    pub rows: render::RowRenderer,
    /// Sorted orders of views, by filter, column and direction.
    pub sorts: sort::Sorts,
    /// The statistics windows' runs.
    pub stats: stats::StatsRuns,
    /// The port the server listens on, once it does (for the Host check).
    pub port: OnceLock<u16>,
    /// The random token every request must carry (in the URL the server prints, then in a
    /// cookie, or in an `X-Osprey-Token` header).
    pub token: String,
    /// The live capture feeding the index, with `--live`.
    pub live: Option<Arc<live::Live>>,
    /// The capture directories among the inputs, with their artifact indexes (see
    /// [`ViewState::captures`]).
    captures: Arc<artifacts::Captures>,
    /// Where marks and notes are saved.
    pub notes: notes::Notes,
}

impl ViewState {
    /// The preferences in use.
    pub fn prefs(&self) -> Preferences {
        self.preferences
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Changes the preferences. Views made before are dropped (a filter may read what they
    /// change, such as `tracee.pid_col`); sorted orders are kept by preferences already.
    pub fn set_prefs(&self, prefs: Preferences) {
        *self.preferences.write().unwrap_or_else(|e| e.into_inner()) = prefs;
        self.views.clear();
        self.stats.clear();
    }

    /// The capture directories and their artifact indexes: those among the inputs, read when
    /// the view opened; with `--live`, the capture's output directory (and the local copies of
    /// a remote one), read again at each call, since the capture is still writing them.
    pub fn captures(&self) -> Arc<artifacts::Captures> {
        match &self.live {
            None => self.captures.clone(),
            Some(l) => Arc::new(artifacts::Captures::open_growing(&l.capture_dirs())),
        }
    }

    /// True while a live capture may still add frames (sorting and export wait for its end).
    pub fn is_live(&self) -> bool {
        self.live.is_some() && !self.index.is_done()
    }
}

/// 128 random bits from the kernel, in hex.
fn random_token() -> Result<String, Error> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(Error::Store)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// True when `a` and `b` are equal, in a time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when every input is a file or a directory (not standard input, a pipe or a device):
/// its end is known.
fn is_recording(files: &[String]) -> bool {
    use std::os::unix::fs::FileTypeExt;
    files.iter().all(|f| {
        f != "-"
            && std::fs::metadata(f).is_ok_and(|m| {
                let t = m.file_type();
                !(t.is_fifo() || t.is_char_device() || t.is_socket() || t.is_block_device())
            })
    })
}

/// Opens the inputs and starts indexing them; the state is ready to serve at once.
pub fn open(options: Options) -> Result<Arc<ViewState>, Error> {
    let profile = Arc::new(Profile::load_or_bundled(options.profile.as_deref())?);
    let mut prefs = profile.preferences.clone();
    for p in &options.preferences {
        prefs
            .set(p)
            .map_err(|e| Error::Preference(format!("-o {p}: {e}")))?;
    }
    let captures = Arc::new(match options.live {
        None => artifacts::Captures::open(&options.files),
        Some(_) => artifacts::Captures::default(),
    });
    let mut notes = notes::Notes::new(
        &options.files,
        options.live.as_ref().map(|c| c.source.as_str()),
    );
    if let Some(path) = options.notes {
        notes.sidecar = Some(path);
    }
    let stats = stats::StatsRuns::default();
    let (index, live) = match options.live {
        None => {
            // A recording's Statistics windows are counted by the index pass itself; a stream's
            // are not: its pass may not end, and a window asks for what came so far.
            let views = is_recording(&options.files)
                .then(|| stats.start_in_index_pass(&prefs, &profile.macros).ok())
                .flatten();
            (
                index::Index::open(&options.files, profile.clone(), prefs.clone(), views)?,
                None,
            )
        }
        Some(config) => (
            index::Index::live(format!("live: {}", config.source))?,
            Some(Arc::new(live::Live::new(config))),
        ),
    };
    if let Some(l) = live.as_ref().filter(|l| !l.wants_options()) {
        // Options from the command line (or none to give): the capture starts now; a failure
        // is in its state and log, which the UI shows.
        let _ = l.start(
            &live::CaptureOptions::default(),
            &index,
            profile.clone(),
            prefs.clone(),
        );
    }
    Ok(Arc::new(ViewState {
        live,
        captures,
        notes,
        rows: render::RowRenderer::new(&profile),
        index,
        profile,
        preferences: std::sync::RwLock::new(prefs),
        views: views::Views::default(),
        sorts: sort::Sorts::default(),
        stats,
        port: OnceLock::new(),
        token: random_token()?,
    }))
}

/// The router: the API, the assets, and the Host/Origin check in front of them.
pub fn app(state: Arc<ViewState>) -> axum::Router {
    api::router(state.clone()).layer(axum::middleware::from_fn_with_state(state, local_only))
}

/// The name of the cookie holding the token (one per port: cookies do not tell ports apart).
pub fn cookie_name(s: &ViewState) -> String {
    format!("osprey_view_{}", s.port.get().copied().unwrap_or(0))
}

/// Refuses requests whose `Host` or `Origin` names anything but this server on the loopback
/// address: a web page elsewhere cannot reach the API through DNS rebinding. Then refuses
/// requests without the token: in the query (`?token=`, as in the URL printed), an
/// `X-Osprey-Token` header, or the cookie set when the page was opened with it. Another local
/// user or a page that guesses the port gets nothing.
async fn local_only(State(s): State<Arc<ViewState>>, req: Request, next: Next) -> Response {
    let port = s.port.get().copied();
    let allowed = |host: &str| -> bool {
        let Some(port) = port else { return true };
        ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|h| host == format!("{h}:{port}"))
    };
    let headers = req.headers();
    if let Some(host) = headers.get(header::HOST) {
        if !host.to_str().is_ok_and(allowed) {
            return (StatusCode::FORBIDDEN, "Host must be this server's address").into_response();
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(allowed);
        if !ok {
            return (StatusCode::FORBIDDEN, "cross-origin requests are refused").into_response();
        }
    }
    let token = s.token.as_bytes();
    let in_query = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.strip_prefix("token="))
        .any(|t| same_secret(t.as_bytes(), token));
    let in_header = headers
        .get("x-osprey-token")
        .is_some_and(|t| same_secret(t.as_bytes(), token));
    let cookie = cookie_name(&s);
    let in_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .flat_map(|c| c.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .any(|(k, v)| k == cookie && same_secret(v.as_bytes(), token));
    if !(in_query || in_header || in_cookie) {
        return (
            StatusCode::FORBIDDEN,
            "this server needs its token: open the URL `osprey view` printed",
        )
            .into_response();
    }
    let mut resp = next.run(req).await;
    if in_query && !in_cookie {
        // The page's own requests (assets, API, event stream) then carry the cookie.
        if let Ok(v) = header::HeaderValue::from_str(&format!(
            "{cookie}={}; Path=/; HttpOnly; SameSite=Strict",
            s.token
        )) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Opens the inputs and serves the UI on 127.0.0.1 until the process ends. `ready` is called
/// with the URL once the server listens.
pub fn serve(options: Options, ready: impl FnOnce(&str)) -> Result<(), Error> {
    let port = options.port;
    let state = open(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Serve)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(Error::Serve)?;
        let addr = listener.local_addr().map_err(Error::Serve)?;
        let _ = state.port.set(addr.port());
        ready(&format!("http://{addr}/?token={}", state.token));
        axum::serve(listener, app(state))
            .await
            .map_err(Error::Serve)
    })
}

#[cfg(test)]
mod tests {
    use super::is_recording;

    #[test]
    fn only_files_and_directories_are_recordings() {
        let dir = tempfile::tempdir().expect("a directory");
        let file = dir.path().join("events.json");
        std::fs::write(&file, b"").expect("a file");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().expect("UTF-8")).expect("no NUL");
        // SAFETY: a NUL-terminated path in a directory of our own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let name = |p: &std::path::Path| p.to_string_lossy().into_owned();
        assert!(is_recording(&[name(&file)]));
        assert!(is_recording(&[name(dir.path()), name(&file)]));
        assert!(!is_recording(&["-".to_string()]));
        assert!(!is_recording(&[name(&file), name(&fifo)]));
        assert!(!is_recording(&["/dev/null".to_string()]));
    }
}
