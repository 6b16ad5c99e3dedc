//! The master key file of the embedded default.

use std::path::Path;

use super::ConfigError;
use crate::auth::secrets::{SecretBox, generate_master_key};

/// The embedded default keeps a generated master key beside the SQLite file, readable by the owner only.
pub(super) fn load_or_create_key_file(path: &Path) -> Result<SecretBox, ConfigError> {
    let bad = |why: String| ConfigError(format!("ASSENT_SECRET_KEY_FILE ({}) {why}", path.display()));
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
        return SecretBox::from_base64(&text).map_err(|why| bad(format!("holds no valid key: {why}")));
    }
    let key = generate_master_key();
    write_private(path, &key).map_err(|e| bad(format!("cannot be created: {e}")))?;
    SecretBox::from_base64(&key).map_err(bad)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}
