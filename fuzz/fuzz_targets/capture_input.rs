//! The capture-side inputs that come from outside: `--capture` values (split on newlines), the
//! name sanitiser on arbitrary bytes, the snap-length cut of an arbitrary packet, and a profile
//! file for `osprey profile diff`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_capture::{name, options, profile};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let values: Vec<&str> = text.split('\n').collect();
    if let Ok(Some(o)) = options::CaptureOptions::parse(&values) {
        assert!(o.write_filters.len() <= options::MAX_WRITE_FILTERS);
        assert!(o.write_filters.iter().all(|f| f.chars().count() <= options::MAX_FILTER_LEN));
    }
    let c = name::component(data);
    assert!(name::is_safe_component(&c), "{c:?}");
    for snap in [options::Snaplen::Default, options::Snaplen::Headers, options::Snaplen::Max] {
        assert!(snap.cut(data) <= data.len());
    }
    if let Ok(p) = profile::Profile::parse(data) {
        let d = profile::diff(&p, &p);
        assert!(!d.iter().any(|c| c.fails()));
        let back = profile::Profile::parse(&p.to_json()).expect("written profiles read back");
        assert_eq!(back.entries.len(), p.entries.len());
    }
});
