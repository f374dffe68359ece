//! What the suite is told about a real cloud: `clouds.yaml` (found as openstacksdk finds it,
//! in [`sigstack_client::clouds`]) and the capability file (`--capabilities`), the suite's
//! counterpart of tempest.conf's feature flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::RunError;

// clouds.yaml lives in the client crate, shared with the operator tools (`sigstack audit`,
// `sigstack sign-images`); re-exported so the suite's callers keep their paths.
pub use sigstack_client::clouds::{CloudsError, CloudsYaml, clouds_yaml_candidates, find_clouds_yaml};

/// Capability values, normalised to strings (`true`, `false`, `current`, `qcow2`), so tags
/// compare them one way whatever YAML type the file used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(pub BTreeMap<String, String>);

impl Capabilities {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Set and not `false` or empty: `@optional:<name>` runs.
    pub fn truthy(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty() && v != "false")
    }

    pub fn set(&mut self, name: &str, value: impl ToString) {
        self.0.insert(name.to_owned(), value.to_string());
    }
}

/// `--capabilities FILE`: suite user → clouds.yaml cloud name, the capabilities, and the
/// settings (how the suite drives the target). The settings also travel in `capabilities`
/// under [`SETTINGS_PREFIX`] (`settings.build_timeout`), so the target and the reports carry
/// them with the capabilities.
#[derive(Debug, Default)]
pub struct CapabilityFile {
    pub users: BTreeMap<String, String>,
    pub capabilities: Capabilities,
    pub settings: Settings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapabilityFile {
    #[serde(default)]
    users: BTreeMap<String, String>,
    #[serde(default)]
    capabilities: BTreeMap<String, serde_yaml_ng::Value>,
    #[serde(default)]
    settings: BTreeMap<String, serde_yaml_ng::Value>,
}

/// The capability naming the disk format of the images the suite uploads (`raw` or `qcow2`).
pub const IMAGE_FORMAT: &str = "image_format";

/// Where a capability file's settings go in [`Capabilities`].
pub const SETTINGS_PREFIX: &str = "settings.";

/// The `settings:` keys, in the order the README documents them.
pub const SETTING_KEYS: [&str; 9] = [
    "build_timeout",
    "volume_timeout",
    "attach_timeout",
    "image_timeout",
    "poll_interval",
    "poll_max_interval",
    "flavor",
    "network",
    "control_token_file",
];

/// The network a server is booted on (`networks` of a server create, microversion >= 2.37).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// `"networks": "none"`: no port.
    None,
    /// `"networks": "auto"`: Nova picks the project's network, or auto-allocates one.
    Auto,
    /// `"networks": [{"uuid": id}]`.
    Id(String),
}

impl Network {
    pub fn parse(text: &str) -> Result<Network, String> {
        match text.trim() {
            "none" => Ok(Network::None),
            "auto" => Ok(Network::Auto),
            "" => Err("it must be none, auto or a network id".into()),
            id if id.chars().any(char::is_whitespace) => Err(format!("'{id}' is not none, auto or a network id")),
            id => Ok(Network::Id(id.to_owned())),
        }
    }

    /// The value of `networks` in a server create.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Network::None => "none".into(),
            Network::Auto => "auto".into(),
            Network::Id(id) => serde_json::json!([{"uuid": id}]),
        }
    }

    fn text(&self) -> String {
        match self {
            Network::None => "none".into(),
            Network::Auto => "auto".into(),
            Network::Id(id) => id.clone(),
        }
    }
}

/// `settings:` as the file gives them; what is absent takes the target's default
/// ([`RunSettings::resolve`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub build_timeout: Option<Duration>,
    pub volume_timeout: Option<Duration>,
    pub attach_timeout: Option<Duration>,
    pub image_timeout: Option<Duration>,
    pub poll_interval: Option<Duration>,
    pub poll_max_interval: Option<Duration>,
    pub flavor: Option<String>,
    pub network: Option<Network>,
    /// The simulator's control token (`/_sim/`), as `sigstack serve` writes it beside
    /// clouds.yaml; relative to the capability file.
    pub control_token_file: Option<PathBuf>,
}

/// `600`, `2.5` (seconds), or a string with a unit: `500ms`, `90s`, `10m`.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    let seconds = number.trim().parse::<f64>().ok()? * scale;
    (seconds.is_finite() && seconds > 0.0 && seconds < 1e9).then(|| Duration::from_secs_f64(seconds))
}

fn seconds_text(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 { format!("{}", s as u64) } else { format!("{s}") }
}

impl Settings {
    /// Validates one key's value (a YAML scalar as text); the error names the key.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let duration = || {
            parse_duration(value).ok_or_else(|| {
                format!("setting '{key}' must be a positive number of seconds (600, 2.5) or a duration (500ms, 90s, 10m), not '{value}'")
            })
        };
        match key {
            "build_timeout" => self.build_timeout = Some(duration()?),
            "volume_timeout" => self.volume_timeout = Some(duration()?),
            "attach_timeout" => self.attach_timeout = Some(duration()?),
            "image_timeout" => self.image_timeout = Some(duration()?),
            "poll_interval" => self.poll_interval = Some(duration()?),
            "poll_max_interval" => self.poll_max_interval = Some(duration()?),
            "flavor" if value.trim().is_empty() => return Err("setting 'flavor' must be a flavor name or id, not empty".into()),
            "flavor" => self.flavor = Some(value.trim().to_owned()),
            "network" => self.network = Some(Network::parse(value).map_err(|e| format!("setting 'network': {e}"))?),
            "control_token_file" if value.trim().is_empty() => {
                return Err("setting 'control_token_file' must be a file name, not empty".into());
            }
            "control_token_file" => self.control_token_file = Some(PathBuf::from(value.trim())),
            other => return Err(format!("unknown setting '{other}' (the settings are: {})", SETTING_KEYS.join(", "))),
        }
        Ok(())
    }

    /// The settings as `settings.<key>` capabilities (durations in seconds).
    pub fn to_capabilities(&self) -> Vec<(String, String)> {
        let durations = [
            ("build_timeout", self.build_timeout),
            ("volume_timeout", self.volume_timeout),
            ("attach_timeout", self.attach_timeout),
            ("image_timeout", self.image_timeout),
            ("poll_interval", self.poll_interval),
            ("poll_max_interval", self.poll_max_interval),
        ];
        let mut out: Vec<(String, String)> =
            durations.into_iter().filter_map(|(k, v)| Some((format!("{SETTINGS_PREFIX}{k}"), seconds_text(v?)))).collect();
        if let Some(f) = &self.flavor {
            out.push((format!("{SETTINGS_PREFIX}flavor"), f.clone()));
        }
        if let Some(n) = &self.network {
            out.push((format!("{SETTINGS_PREFIX}network"), n.text()));
        }
        if let Some(f) = &self.control_token_file {
            out.push((format!("{SETTINGS_PREFIX}control_token_file"), f.display().to_string()));
        }
        out
    }

    /// The settings a target carries in its capabilities (see [`Settings::to_capabilities`]);
    /// what does not parse is left out (the file was validated when it was read).
    pub fn from_capabilities(capabilities: &Capabilities) -> Settings {
        let mut settings = Settings::default();
        for (key, value) in &capabilities.0 {
            if let Some(key) = key.strip_prefix(SETTINGS_PREFIX) {
                let _ = settings.set(key, value);
            }
        }
        settings
    }
}

/// The settings a run uses: the file's, and for what it leaves out, defaults that suit a real
/// cloud, or the simulator's (fast) ones when the target is simulated.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// The embedded cloud, or a target declaring `simulated_control`.
    pub simulated: bool,
    /// A server build (ACTIVE or ERROR); also a snapshot becoming active.
    pub build_timeout: Duration,
    /// A volume leaving `creating`/`downloading`.
    pub volume_timeout: Duration,
    /// An attach, a detach, a deletion.
    pub attach_timeout: Duration,
    /// An image import task.
    pub image_timeout: Duration,
    /// The first wait between two polls; it doubles up to `poll_max_interval`.
    pub poll_interval: Duration,
    pub poll_max_interval: Duration,
    /// A flavor name or id; `None`: the smallest flavor that fits the image.
    pub flavor: Option<String>,
    pub network: Network,
    /// The disk format of the images the suite uploads (capability `image_format`).
    pub image_format: crate::disk_image::DiskFormat,
}

/// No poll against a real cloud comes sooner than this after the previous one.
pub const REAL_CLOUD_MIN_POLL: Duration = Duration::from_secs(1);

impl RunSettings {
    /// Defaults for a real cloud: builds 600 s, volumes 300 s, attachments and deletions
    /// 120 s, imports 300 s, polling from 1 s doubling to 10 s, the smallest flavor that fits,
    /// `networks: auto`, qcow2 images. For the simulator: today's 10 s / 10 s / 60 s / 60 s,
    /// polling every 20 ms, flavor `1` (m1.tiny, which the Gherkin of the microversion 2.62
    /// refusal shows). A non-simulated target never polls faster than once a second, whatever
    /// the file says.
    pub fn resolve(capabilities: &Capabilities, embedded: bool) -> RunSettings {
        let simulated = embedded || capabilities.truthy("simulated_control");
        let file = Settings::from_capabilities(capabilities);
        let s = Duration::from_secs;
        let (build, volume, attach, image, first, max, flavor) = if simulated {
            (s(10), s(10), s(60), s(60), Duration::from_millis(20), Duration::from_millis(20), Some("1".to_owned()))
        } else {
            (s(600), s(300), s(120), s(300), s(1), s(10), None)
        };
        let floor = if simulated { Duration::ZERO } else { REAL_CLOUD_MIN_POLL };
        let poll_interval = file.poll_interval.unwrap_or(first).max(floor);
        let poll_max_interval = file.poll_max_interval.unwrap_or(max.max(poll_interval)).max(poll_interval);
        let image_format =
            capabilities.get(IMAGE_FORMAT).and_then(crate::disk_image::DiskFormat::parse).unwrap_or(crate::disk_image::DiskFormat::Qcow2);
        RunSettings {
            simulated,
            build_timeout: file.build_timeout.unwrap_or(build),
            volume_timeout: file.volume_timeout.unwrap_or(volume),
            attach_timeout: file.attach_timeout.unwrap_or(attach),
            image_timeout: file.image_timeout.unwrap_or(image),
            poll_interval,
            poll_max_interval,
            flavor: file.flavor.or(flavor),
            network: file.network.unwrap_or(Network::Auto),
            image_format,
        }
    }
}

impl CapabilityFile {
    pub fn load(path: &Path) -> Result<CapabilityFile, RunError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| RunError::UnreadableCapabilities { path: path.to_owned(), reason: e.to_string() })?;
        let mut file = Self::parse(&text).map_err(|reason| RunError::Capabilities { path: path.to_owned(), reason })?;
        if let Some(token_file) = file.settings.control_token_file.take() {
            let resolved = path.parent().map(|dir| dir.join(&token_file)).unwrap_or(token_file);
            file.settings.control_token_file = Some(resolved);
            file.capabilities.0.extend(file.settings.to_capabilities());
        }
        Ok(file)
    }

    /// The control token for `/_sim/`: `SIGSTACK_CONTROL_TOKEN` when set, else the file the
    /// `control_token_file` setting names; `None` when neither is given.
    pub fn control_token(&self) -> Result<Option<String>, RunError> {
        if let Some(token) = std::env::var("SIGSTACK_CONTROL_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
            return Ok(Some(token.trim().to_owned()));
        }
        let Some(path) = &self.settings.control_token_file else { return Ok(None) };
        let token = std::fs::read_to_string(path).map_err(|e| {
            RunError::TargetConfiguration(format!(
                "cannot read the control token file {} (setting control_token_file): {e}",
                path.display()
            ))
        })?;
        match token.trim() {
            "" => Err(RunError::TargetConfiguration(format!("the control token file {} is empty", path.display()))),
            t => Ok(Some(t.to_owned())),
        }
    }

    pub fn parse(text: &str) -> Result<CapabilityFile, String> {
        // An empty file is a valid "nothing declared"; serde_yaml_ng reads it as null.
        if text.trim().is_empty() {
            return Ok(CapabilityFile::default());
        }
        let raw: RawCapabilityFile = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let scalar = |value: serde_yaml_ng::Value| match value {
            serde_yaml_ng::Value::Bool(b) => Ok(Some(b.to_string())),
            serde_yaml_ng::Value::String(s) => Ok(Some(s)),
            serde_yaml_ng::Value::Number(n) => Ok(Some(n.to_string())),
            // `name:` with no value declares nothing.
            serde_yaml_ng::Value::Null => Ok(None),
            _ => Err(()),
        };
        let mut capabilities = Capabilities::default();
        for (name, value) in raw.capabilities {
            let Some(value) = scalar(value).map_err(|()| format!("capability '{name}' must be a boolean, string or number"))? else {
                continue;
            };
            if name.starts_with(SETTINGS_PREFIX) {
                return Err(format!("capability '{name}': settings go in the settings: section"));
            }
            if name == IMAGE_FORMAT && crate::disk_image::DiskFormat::parse(&value).is_none() {
                return Err(format!("capability '{IMAGE_FORMAT}' must be raw or qcow2 (the disk formats the suite makes), not '{value}'"));
            }
            capabilities.0.insert(name, value);
        }
        let mut settings = Settings::default();
        for (name, value) in raw.settings {
            let Some(value) = scalar(value).map_err(|()| format!("setting '{name}' must be a number or a string"))? else {
                continue;
            };
            settings.set(&name, &value)?;
        }
        capabilities.0.extend(settings.to_capabilities());
        Ok(CapabilityFile { users: raw.users, capabilities, settings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_values_normalise_to_strings() {
        let f = CapabilityFile::parse(
            "users:\n  admin: a\ncapabilities:\n  compute: true\n  volume: false\n  key_type_profile: current\n  n: 3\n  unset:\n",
        )
        .unwrap();
        assert_eq!(f.users.get("admin").map(String::as_str), Some("a"));
        assert!(f.capabilities.truthy("compute") && !f.capabilities.truthy("volume") && !f.capabilities.truthy("unset"));
        assert_eq!((f.capabilities.get("key_type_profile"), f.capabilities.get("n")), (Some("current"), Some("3")));
        assert!(CapabilityFile::parse("").unwrap().users.is_empty());
    }

    #[test]
    fn malformed_capability_files_are_refused() {
        assert!(CapabilityFile::parse("capabilitiez:\n  compute: true\n").unwrap_err().contains("capabilitiez"));
        assert!(CapabilityFile::parse("capabilities:\n  compute: [1]\n").unwrap_err().contains("compute"));
        assert!(CapabilityFile::parse("users: [admin]\n").is_err());
        assert!(CapabilityFile::parse(": : :").is_err());
        assert!(
            CapabilityFile::parse("capabilities:\n  image_format: vmdk\n").unwrap_err().contains("'image_format' must be raw or qcow2")
        );
    }

    #[test]
    fn settings_parse_with_errors_naming_the_key() {
        let f = CapabilityFile::parse(
            "settings:\n  build_timeout: 900\n  volume_timeout: 2.5\n  attach_timeout: 2m\n  poll_interval: 500ms\n  flavor: m1.small\n  network: 6b5c1ad4-0bf4-4c5e-8e3a-41c16a0e1a26\n",
        )
        .unwrap();
        assert_eq!(f.settings.build_timeout, Some(Duration::from_secs(900)));
        assert_eq!(f.settings.volume_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(f.settings.attach_timeout, Some(Duration::from_secs(120)));
        assert_eq!(f.settings.flavor.as_deref(), Some("m1.small"));
        assert_eq!(f.settings.network, Some(Network::Id("6b5c1ad4-0bf4-4c5e-8e3a-41c16a0e1a26".into())));
        // They travel with the capabilities and come back unchanged.
        assert_eq!(f.capabilities.get("settings.build_timeout"), Some("900"));
        assert_eq!(Settings::from_capabilities(&f.capabilities), f.settings);
        assert_eq!(CapabilityFile::parse("settings:\n  flavor: 42\n  network: none\n").unwrap().settings.network, Some(Network::None));

        for (text, says) in [
            ("settings:\n  build_timeout: soon\n", "setting 'build_timeout' must be a positive number of seconds"),
            ("settings:\n  poll_interval: -1\n", "setting 'poll_interval' must be a positive"),
            ("settings:\n  volume_timeout: 0\n", "setting 'volume_timeout'"),
            ("settings:\n  network: two words\n", "setting 'network': 'two words' is not none, auto or a network id"),
            ("settings:\n  flavor: ''\n", "setting 'flavor' must be a flavor name or id"),
            ("settings:\n  flavour: m1.tiny\n", "unknown setting 'flavour' (the settings are: build_timeout,"),
            ("settings:\n  flavor: [1]\n", "setting 'flavor' must be a number or a string"),
            ("settings: [1]\n", "settings"),
            ("capabilities:\n  settings.flavor: x\n", "settings go in the settings: section"),
        ] {
            let e = CapabilityFile::parse(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }

    #[test]
    fn real_clouds_get_slow_polling_and_the_simulator_keeps_its_pace() {
        let real = RunSettings::resolve(&Capabilities::default(), false);
        assert!(!real.simulated);
        assert_eq!(
            (real.build_timeout, real.volume_timeout, real.attach_timeout),
            (Duration::from_secs(600), Duration::from_secs(300), Duration::from_secs(120))
        );
        assert_eq!((real.poll_interval, real.poll_max_interval), (Duration::from_secs(1), Duration::from_secs(10)));
        assert_eq!(
            (real.flavor.as_deref(), &real.network, real.image_format),
            (None, &Network::Auto, crate::disk_image::DiskFormat::Qcow2)
        );

        // A file asking a real cloud for 20 ms polls gets 1 s.
        let fast =
            CapabilityFile::parse("capabilities:\n  image_format: raw\nsettings:\n  poll_interval: 20ms\n  poll_max_interval: 50ms\n")
                .unwrap();
        let r = RunSettings::resolve(&fast.capabilities, false);
        assert_eq!(
            (r.poll_interval, r.poll_max_interval, r.image_format),
            (REAL_CLOUD_MIN_POLL, REAL_CLOUD_MIN_POLL, crate::disk_image::DiskFormat::Raw)
        );
        // ... and the simulator what it asks for.
        let mut caps = fast.capabilities.clone();
        caps.set("simulated_control", true);
        assert_eq!(RunSettings::resolve(&caps, false).poll_interval, Duration::from_millis(20));

        let embedded = RunSettings::resolve(&Capabilities::default(), true);
        assert!(embedded.simulated);
        assert_eq!(
            (embedded.build_timeout, embedded.poll_interval, embedded.flavor.as_deref()),
            (Duration::from_secs(10), Duration::from_millis(20), Some("1"))
        );
        let file = CapabilityFile::parse("settings:\n  build_timeout: 30\n  flavor: m1.nano\n").unwrap();
        let r = RunSettings::resolve(&file.capabilities, true);
        assert_eq!((r.build_timeout, r.flavor.as_deref()), (Duration::from_secs(30), Some("m1.nano")));
    }
}
