//! Container IDs from cgroup paths.
//!
//! Every container runtime names the container's cgroup after its ID, each in its own way and
//! differently under the cgroupfs and systemd cgroup drivers. The ID is the last path component
//! that holds 64 hex digits once the runtime's prefix and `.scope` suffix are removed; the
//! monitor processes of CRI-O and Podman (`crio-conmon-`, `libpod-conmon-`) are not containers.

/// A container found in a cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// The full 64-hex-digit ID.
    pub id: String,
    /// The runtime the naming points to: `docker`, `containerd`, `crio`, `podman`, or `unknown`.
    pub runtime: &'static str,
}

const PREFIXES: &[(&str, &str)] = &[
    ("docker-", "docker"),
    ("cri-containerd-", "containerd"),
    ("containerd-", "containerd"),
    ("crio-", "crio"),
    ("libpod-", "podman"),
];

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The container a cgroup path (as in `/proc/<pid>/cgroup`, `0::<path>`) belongs to, if any.
pub fn container_from_cgroup(path: &str) -> Option<ContainerRef> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate().rev() {
        if part.contains("-conmon-") {
            continue;
        }
        let base = part.strip_suffix(".scope").unwrap_or(part);
        for (prefix, runtime) in PREFIXES {
            if let Some(rest) = base.strip_prefix(prefix) {
                if is_id(rest) {
                    return Some(ContainerRef {
                        id: rest.to_ascii_lowercase(),
                        runtime,
                    });
                }
            }
        }
        if is_id(base) {
            let parent = if i > 0 { parts[i - 1] } else { "" };
            let runtime = if parts.iter().any(|p| p.starts_with("kubepods")) {
                "containerd"
            } else if parent == "docker" || parent == "actions_job" {
                "docker"
            } else if parent.starts_with("machine") || parent.contains("libpod") {
                "podman"
            } else {
                "unknown"
            };
            return Some(ContainerRef {
                id: base.to_ascii_lowercase(),
                runtime,
            });
        }
    }
    None
}

/// The unified (v2) cgroup path from the text of `/proc/<pid>/cgroup`.
pub fn unified_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "95e88e281c4b47994e0d17ac74b83761fbc3ea570c3f1d4b98b6501ecc00dd84";

    fn id_of(path: &str) -> Option<(String, &'static str)> {
        container_from_cgroup(path).map(|c| (c.id, c.runtime))
    }

    #[test]
    fn docker_cgroupfs_and_systemd_drivers() {
        assert_eq!(id_of(&format!("/docker/{ID}")), Some((ID.into(), "docker")));
        assert_eq!(
            id_of(&format!("/system.slice/docker-{ID}.scope")),
            Some((ID.into(), "docker"))
        );
        // GitHub Actions job containers
        assert_eq!(
            id_of(&format!("/actions_job/{ID}")),
            Some((ID.into(), "docker"))
        );
    }

    #[test]
    fn containerd_cri_both_drivers() {
        let cgroupfs = format!("/kubepods/besteffort/pod8d3f1e6e-0a1b-4c2d-9e8f-123456789abc/{ID}");
        assert_eq!(id_of(&cgroupfs), Some((ID.into(), "containerd")));
        let systemd = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8d3f1e6e_0a1b_4c2d_9e8f_123456789abc.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(id_of(&systemd), Some((ID.into(), "containerd")));
    }

    #[test]
    fn crio_and_its_conmon() {
        let c = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/crio-{ID}.scope"
        );
        assert_eq!(id_of(&c), Some((ID.into(), "crio")));
        let conmon = format!("/kubepods.slice/kubepods-besteffort.slice/crio-conmon-{ID}.scope");
        assert_eq!(id_of(&conmon), None);
    }

    #[test]
    fn podman_rootful_rootless_and_conmon() {
        assert_eq!(
            id_of(&format!("/machine.slice/libpod-{ID}.scope")),
            Some((ID.into(), "podman"))
        );
        // rootless podman with a nested cgroup inside the container scope
        let rootless = format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container"
        );
        assert_eq!(id_of(&rootless), Some((ID.into(), "podman")));
        assert_eq!(
            id_of(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
    }

    #[test]
    fn plain_systemd_slices_and_hosts_are_not_containers() {
        for p in [
            "/",
            "/init.scope",
            "/system.slice/ssh.service",
            "/user.slice/user-1000.slice/session-3.scope",
            "/system.slice/docker.service",
            "/kubepods.slice/kubepods-besteffort.slice",
            // 63 hex digits: not an ID
            "/docker/95e88e281c4b47994e0d17ac74b83761fbc3ea570c3f1d4b98b6501ecc00dd8",
        ] {
            assert_eq!(id_of(p), None, "{p}");
        }
    }

    #[test]
    fn unified_line_is_picked_from_hybrid_proc_cgroup() {
        let text = "12:pids:/user.slice\n1:name=systemd:/user.slice/session-1.scope\n0::/system.slice/docker-abc.scope\n";
        assert_eq!(unified_path(text), Some("/system.slice/docker-abc.scope"));
    }
}
