//! Any bytes as a manifest: the loader reports diagnostics, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use whm_migrate::modules::ModuleCatalog;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let catalog = ModuleCatalog::bundled();
    if let Err(diags) =
        whm_migrate::manifest::parse_str("fuzz.toml", &text, std::path::Path::new("."), &catalog)
    {
        let _ = diags.render_text(false);
        let _ = diags.render_json();
    }
});
