//! `osprey trace --remote ssh://USER@HOST[:PORT]`: the tracer runs on another machine, its
//! events come back over the SSH channel itself and go to the local outputs.
//!
//! The connection (russh) authenticates with the user's ssh-agent (`SSH_AUTH_SOCK`) and key
//! files (`--identity`, else `~/.ssh/id_*`), and accepts the server only
//! when its key is in known_hosts (an unknown key is refused, a changed one too). The remote
//! `osprey` is checked (`--version`); when it is missing and the remote machine has this
//! machine's architecture, this binary is copied there over the channel. The remote command is
//! `osprey trace -o json ARGS` (with `sudo -n` unless the user is root), its stdout is the event
//! stream, its stderr the tracer's log (shown with a `remote:` prefix). Ctrl-C sends SIGINT
//! over the channel, so the remote tracer stops cleanly and nothing stays running.
//!
//! The remote output directory (`--capture`) is copied back over SFTP on the same session
//! (remote_copy.rs): at stop with `--remote-copy DIR`, and on demand while the trace goes on
//! when this process gets SIGUSR1 (into DIR, else the current directory), each copy into a
//! new folder `HOST-UNIXTIME`. Each copy ends with a `copy done {JSON}` or `copy failed:` line
//! on stderr, which `osprey view --live ssh://` reads.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::Args;
use russh::keys::{self, PrivateKeyWithHashAlg};
use russh::{client, ChannelMsg, Sig};

/// Where `osprey trace --remote` goes and how.
#[derive(Args, Debug, Clone, Default)]
pub struct RemoteArgs {
    /// Trace another machine over SSH: ssh://USER@HOST[:PORT]. Events come back over the SSH
    /// channel to the local --output sinks.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// With --remote: the private key (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa).
    #[arg(long, value_name = "FILE", requires = "remote")]
    pub identity: Vec<PathBuf>,
    /// With --remote: the known_hosts file (default ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE", requires = "remote")]
    pub known_hosts: Option<PathBuf>,
    /// With --remote: the osprey binary on the remote machine (default: osprey on its PATH,
    /// else this binary copied to /tmp/osprey-VERSION).
    #[arg(long, value_name = "PATH", requires = "remote")]
    pub remote_osprey: Option<String>,
    /// With --remote and --capture: when the tracer stops, copy the remote output directory
    /// into a new folder HOST-UNIXTIME under DIR (SFTP over the same session). SIGUSR1 to
    /// this process copies it while the trace goes on (into DIR, else the current directory).
    #[arg(long, value_name = "DIR", requires = "remote")]
    pub remote_copy: Option<PathBuf>,
}

struct Target {
    user: String,
    host: String,
    port: u16,
}

fn parse_url(url: &str) -> anyhow::Result<Target> {
    let rest = url.strip_prefix("ssh://").unwrap_or(url);
    let (user, hostport) = rest
        .split_once('@')
        .with_context(|| format!("--remote {url}: expected ssh://USER@HOST[:PORT]"))?;
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h.trim_start_matches('[').trim_end_matches(']').to_string(),
            p.parse()
                .with_context(|| format!("--remote {url}: bad port {p}"))?,
        ),
        _ => (hostport.to_string(), 22),
    };
    if user.is_empty() || host.is_empty() {
        bail!("--remote {url}: expected ssh://USER@HOST[:PORT]");
    }
    Ok(Target {
        user: user.to_string(),
        host,
        port,
    })
}

/// Quotes one word for the remote shell.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The local `osprey trace` arguments without the remote options and the outputs (the remote
/// side writes JSON to the channel; the outputs are local).
fn remote_trace_args(argv: &[OsString]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut after_dashes = false;
    while i < argv.len() {
        let a = argv[i]
            .to_str()
            .context("--remote: arguments must be UTF-8")?
            .to_string();
        i += 1;
        if after_dashes {
            out.push(a);
            continue;
        }
        if a == "--" {
            after_dashes = true;
            out.push(a);
            continue;
        }
        let with_value = [
            "--remote",
            "--identity",
            "--known-hosts",
            "--remote-osprey",
            "--remote-copy",
            "-o",
            "--output",
        ];
        if with_value.contains(&a.as_str()) {
            i += 1;
            continue;
        }
        if with_value
            .iter()
            .any(|f| f.starts_with("--") && a.starts_with(&format!("{f}=")))
            || (a.starts_with("-o") && a.len() > 2 && !a.starts_with("--"))
        {
            continue;
        }
        out.push(a);
    }
    Ok(out)
}

struct Client {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    refusal: Arc<std::sync::Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &keys::ssh_key::PublicKey,
    ) -> Result<bool, Self::Error> {
        let verdict = keys::known_hosts::check_known_hosts_path(
            &self.host,
            self.port,
            key,
            &self.known_hosts,
        );
        let why = match verdict {
            Ok(true) => return Ok(true),
            Ok(false) => format!(
                "the host key of {}:{} ({}) is not in {}: add it (ssh-keyscan -p {} {} >> {}) after checking its fingerprint",
                self.host,
                self.port,
                key.fingerprint(Default::default()),
                self.known_hosts.display(),
                self.port,
                self.host,
                self.known_hosts.display()
            ),
            Err(e) => format!(
                "the host key of {}:{} does not match {}: {e}",
                self.host,
                self.port,
                self.known_hosts.display()
            ),
        };
        *self.refusal.lock().expect("refusal") = Some(why);
        Ok(false)
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// Runs a command on the session and returns (exit status, stdout, stderr).
async fn run_cmd(
    session: &client::Handle<Client>,
    cmd: &str,
    stdin: Option<Vec<u8>>,
) -> anyhow::Result<(Option<u32>, Vec<u8>, Vec<u8>)> {
    let mut ch = session.channel_open_session().await?;
    ch.exec(true, cmd).await?;
    if let Some(data) = stdin {
        ch.data(&data[..]).await?;
        ch.eof().await?;
    }
    let (mut out, mut err, mut code) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = ch.wait().await {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => err.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status),
            _ => {}
        }
    }
    Ok((code, out, err))
}

pub fn run(remote: RemoteArgs, trace: osprey_trace::TraceArgs) -> anyhow::Result<ExitCode> {
    let url = remote.remote.clone().expect("--remote given");
    let target = parse_url(&url)?;
    let argv: Vec<OsString> = std::env::args_os().skip(2).collect();
    let forwarded = remote_trace_args(&argv)?;
    let outputs = if trace.output.is_empty() {
        vec![osprey_trace::output::OutputSpec::Json]
    } else {
        trace.output.clone()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let capture_dir = capture_dir(&trace.capture);
    rt.block_on(session(remote, target, forwarded, outputs, capture_dir))
}

/// The output directory `--capture` options name (`dir:PATH`, else the default when any is
/// given).
fn capture_dir(capture: &[String]) -> Option<String> {
    let mut dir = None;
    for c in capture {
        let c = c.strip_prefix("artifact:").unwrap_or(c);
        if let Some(d) = c.strip_prefix("dir:") {
            dir = Some(d.to_string());
        }
    }
    dir.or_else(|| (!capture.is_empty()).then(|| osprey_capture::options::DEFAULT_DIR.to_string()))
}

/// Copies the remote directory `dir` over SFTP (a subsystem channel of the session) into a new
/// local folder under `dest` (remote_copy.rs).
async fn copy_back(
    session: &client::Handle<Client>,
    host: &str,
    dir: &str,
    dest: &std::path::Path,
) -> anyhow::Result<crate::remote_copy::Copied> {
    let no_sftp = |e: russh_sftp::client::error::Error| {
        anyhow::anyhow!("{host} offers no SFTP ({e}): its sshd_config needs a Subsystem sftp line")
    };
    // Files are read on one channel (pipelined reads), directories listed on another.
    let ch = session.channel_open_session().await?;
    ch.request_subsystem(true, "sftp").await?;
    let sftp = russh_sftp::client::SftpSession::new(ch.into_stream())
        .await
        .map_err(no_sftp)?;
    let ch = session.channel_open_session().await?;
    ch.request_subsystem(true, "sftp").await?;
    let lister = russh_sftp::client::RawSftpSession::new(ch.into_stream());
    lister.init().await.map_err(no_sftp)?;
    let copied = crate::remote_copy::copy_dir(&sftp, &lister, host, dir, dest).await;
    let _ = sftp.close().await;
    let _ = lister.close_session();
    copied
}

/// One copy of the remote output directory into `dest`, said in the log: `copy done` with the
/// folder, files, bytes and skipped entries as JSON (`osprey view --live` reads it), or `copy
/// failed` with the reason.
async fn copy_and_report(
    session: &client::Handle<Client>,
    host: &str,
    dir: Option<&str>,
    dest: &std::path::Path,
) {
    let Some(dir) = dir else {
        eprintln!("osprey: --remote: copy failed: nothing to copy without --capture (the remote output directory)");
        return;
    };
    eprintln!(
        "osprey: --remote: copying {host}:{dir} into {} (SFTP)",
        dest.display()
    );
    match copy_back(session, host, dir, dest).await {
        Ok(c) => eprintln!(
            "osprey: --remote: copy done {}",
            serde_json::json!({
                "from": format!("{host}:{dir}"),
                "path": c.path.to_string_lossy(),
                "files": c.files,
                "bytes": c.bytes,
                "skipped": c.skipped,
            })
        ),
        Err(e) => eprintln!(
            "osprey: --remote: copy failed: {}",
            format!("{e:#}").replace('\n', " ")
        ),
    }
}

/// Tries the keys of the user's ssh-agent (`SSH_AUTH_SOCK`); false without an agent or when
/// the server takes none of them.
async fn agent_authenticates(
    session: &mut client::Handle<Client>,
    user: &str,
) -> anyhow::Result<bool> {
    let Ok(mut agent) = keys::agent::client::AgentClient::connect_env().await else {
        return Ok(false);
    };
    let identities = agent
        .request_identities()
        .await
        .context("--remote: asking the ssh-agent for its keys")?;
    for key in identities {
        let hash = session.best_supported_rsa_hash().await?.flatten();
        let res = session
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await
            .context("--remote: authenticating with the ssh-agent")?;
        if res.success() {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn session(
    remote: RemoteArgs,
    target: Target,
    forwarded: Vec<String>,
    outputs: Vec<osprey_trace::output::OutputSpec>,
    capture_dir: Option<String>,
) -> anyhow::Result<ExitCode> {
    // SIGUSR1 asks for a copy of the remote output directory; handled from the start, so an
    // early one does not end the process (its default action).
    let mut usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        .context("handling SIGUSR1")?;
    let known_hosts = remote
        .known_hosts
        .clone()
        .unwrap_or_else(|| home().join(".ssh/known_hosts"));
    let refusal = Arc::new(std::sync::Mutex::new(None));
    let handler = Client {
        host: target.host.clone(),
        port: target.port,
        known_hosts,
        refusal: refusal.clone(),
    };
    let config = Arc::new(client::Config {
        inactivity_timeout: None,
        keepalive_interval: Some(std::time::Duration::from_secs(15)),
        ..Default::default()
    });
    let mut session =
        match client::connect(config, (target.host.as_str(), target.port), handler).await {
            Ok(s) => s,
            Err(e) => {
                if let Some(why) = refusal.lock().expect("refusal").take() {
                    bail!("--remote: {why}");
                }
                return Err(e)
                    .with_context(|| format!("connecting to {}:{}", target.host, target.port));
            }
        };
    // keys: the given ones, else the usual files
    let candidates = if remote.identity.is_empty() {
        ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|n| home().join(".ssh").join(n))
            .filter(|p| p.exists())
            .collect()
    } else {
        remote.identity.clone()
    };
    // the agent's keys first, as ssh does, unless keys were named
    let mut authenticated =
        remote.identity.is_empty() && agent_authenticates(&mut session, &target.user).await?;
    for path in candidates.iter().filter(|_| !authenticated) {
        let key = match keys::load_secret_key(path, None) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("osprey: --remote: {}: {e}", path.display());
                continue;
            }
        };
        let hash = session.best_supported_rsa_hash().await?.flatten();
        let res = session
            .authenticate_publickey(
                target.user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await?;
        if res.success() {
            authenticated = true;
            break;
        }
    }
    if !authenticated && !remote.identity.is_empty() {
        authenticated = agent_authenticates(&mut session, &target.user).await?;
    }
    if !authenticated {
        bail!(
            "--remote: {}@{} refused every key tried ({} and the ssh-agent's, if any); give one with --identity",
            target.user,
            target.host,
            if candidates.is_empty() {
                "none found in ~/.ssh".to_string()
            } else {
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }

    // the remote osprey: given, on PATH, or this binary copied over
    let version = env!("CARGO_PKG_VERSION");
    let mut osprey = remote
        .remote_osprey
        .clone()
        .unwrap_or_else(|| "osprey".to_string());
    let (code, _, _) = run_cmd(&session, &format!("{} --version", sh_quote(&osprey)), None).await?;
    if code != Some(0) {
        if remote.remote_osprey.is_some() {
            bail!("--remote-osprey {osprey}: not runnable on {}", target.host);
        }
        let (_, arch, _) = run_cmd(&session, "uname -m", None).await?;
        let arch = String::from_utf8_lossy(&arch).trim().to_string();
        if arch != std::env::consts::ARCH {
            bail!(
                "--remote: no osprey on {} and it is {arch}, not {}: install osprey there or give --remote-osprey",
                target.host,
                std::env::consts::ARCH
            );
        }
        let exe = std::fs::read(std::env::current_exe()?).context("reading this osprey binary")?;
        osprey = format!("/tmp/osprey-{version}");
        eprintln!(
            "osprey: --remote: copying this osprey to {}:{osprey}",
            target.host
        );
        let tmp = format!("{osprey}.part.$$");
        let cmd = format!(
            "umask 077 && cat > {t} && chmod 700 {t} && mv -f {t} {o}",
            t = tmp,
            o = sh_quote(&osprey)
        );
        let (code, _, err) = run_cmd(&session, &cmd, Some(exe)).await?;
        if code != Some(0) {
            bail!(
                "--remote: copying osprey to {}: {}",
                target.host,
                String::from_utf8_lossy(&err).trim()
            );
        }
    }

    let session = Arc::new(session);
    let sudo = if target.user == "root" {
        ""
    } else {
        "sudo -n "
    };
    let mut trace_cmd = format!("{sudo}{} trace -o json", sh_quote(&osprey));
    for a in &forwarded {
        trace_cmd.push(' ');
        trace_cmd.push_str(&sh_quote(a));
    }
    // The tracer runs in the background with its stdin closed; a watcher reads the channel's
    // stdin and sends the tracer SIGINT when it ends: when this side stops (Ctrl-C closes it)
    // or the connection is lost. OpenSSH refuses "signal" requests in some setups (root
    // sessions), so the stop does not rely on them.
    let cmd = format!(
        "exec 3<&0; {trace_cmd} </dev/null & p=$!; \
         (while read -r _ <&3; do :; done; kill -INT $p 2>/dev/null) & w=$!; \
         wait $p; s=$?; kill $w 2>/dev/null; exit $s"
    );
    let mut sinks = osprey_trace::output::open(&outputs)?;
    let mut ch = session.channel_open_session().await?;
    ch.exec(true, cmd.as_bytes()).await?;

    // Copies on demand (SIGUSR1) run beside the event stream, one at a time; a request during
    // a copy makes one more copy after it.
    let copy_dest = remote
        .remote_copy
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let (copy_tx, mut copy_rx) = tokio::sync::mpsc::channel::<()>(1);
    let copier = {
        let (session, host, dir, dest) = (
            session.clone(),
            target.host.clone(),
            capture_dir.clone(),
            copy_dest.clone(),
        );
        tokio::spawn(async move {
            while copy_rx.recv().await.is_some() {
                copy_and_report(&session, &host, dir.as_deref(), &dest).await;
            }
        })
    };
    let asker = tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            if copy_tx.try_send(()).is_err() {
                eprintln!("osprey: --remote: a copy is running; another follows it");
            }
        }
    });

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
            }
        });
    }
    let mut pending = Vec::<u8>::new();
    let mut err_pending = Vec::<u8>::new();
    let mut code = None;
    let mut signalled = false;
    let mut events = 0u64;
    let mut bad = 0u64;
    loop {
        if stop.load(Ordering::SeqCst) && !signalled {
            signalled = true;
            eprintln!("osprey: --remote: stopping the remote tracer");
            let _ = ch.signal(Sig::INT).await;
            let _ = ch.eof().await;
        }
        let msg = tokio::select! {
            m = ch.wait() => m,
            _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => continue,
        };
        let Some(msg) = msg else { break };
        match msg {
            ChannelMsg::Data { data } => {
                pending.extend_from_slice(&data);
                while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=nl).collect();
                    let line = &line[..line.len() - 1];
                    if line.is_empty() {
                        continue;
                    }
                    match osprey_event::parse_event(line) {
                        Ok(ev) => {
                            for s in sinks.iter_mut() {
                                s.event(&ev, line)?;
                            }
                            events += 1;
                        }
                        Err(e) => {
                            bad += 1;
                            if bad <= 20 {
                                eprintln!("osprey: --remote: a line that is no event: {e}");
                            }
                        }
                    }
                }
                for s in sinks.iter_mut() {
                    s.flush()?;
                }
            }
            ChannelMsg::ExtendedData { data, .. } => {
                err_pending.extend_from_slice(&data);
                while let Some(nl) = err_pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = err_pending.drain(..=nl).collect();
                    eprint!("remote: {}", String::from_utf8_lossy(&line));
                }
            }
            ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                eprintln!("osprey: --remote: the remote tracer was killed by {signal_name:?}");
            }
            _ => {}
        }
    }
    for s in sinks.iter_mut() {
        s.flush()?;
    }
    drop(sinks);
    if !err_pending.is_empty() {
        eprintln!("remote: {}", String::from_utf8_lossy(&err_pending));
    }
    // A copy on demand still running ends first; then the copy at stop.
    asker.abort();
    let _ = asker.await;
    let _ = copier.await;
    if let Some(dest) = &remote.remote_copy {
        copy_and_report(&session, &target.host, capture_dir.as_deref(), dest).await;
    }
    let _ = session
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    eprintln!(
        "osprey: --remote: {events} events from {}@{}{}",
        target.user,
        target.host,
        if bad > 0 {
            format!(", {bad} lines skipped")
        } else {
            String::new()
        }
    );
    Ok(match code {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(c.min(255) as u8),
        None => ExitCode::from(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_forwarded_arguments() {
        let t = parse_url("ssh://ann@h.example:2222").unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("ann", "h.example", 2222)
        );
        let t = parse_url("root@10.0.0.1").unwrap();
        assert_eq!(t.port, 22);
        assert!(parse_url("h.example").is_err());
        let argv: Vec<OsString> = [
            "--remote",
            "ssh://r@h",
            "-e",
            "proc",
            "-o",
            "json:x",
            "--identity",
            "k",
            "--output=table",
            "-otable",
            "--",
            "sh",
            "-c",
            "echo 'a b'",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let f = remote_trace_args(&argv).unwrap();
        assert_eq!(f, vec!["-e", "proc", "--", "sh", "-c", "echo 'a b'"]);
        assert_eq!(sh_quote("echo 'a b'"), "'echo '\\''a b'\\'''");
        assert_eq!(sh_quote("/bin/true"), "/bin/true");
    }
}
