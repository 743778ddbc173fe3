//! Key files: an ed25519 secret key as 64 hex digits, readable only by its owner.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use ed25519_dalek::SigningKey;

/// A fresh key from the operating system's randomness.
pub fn generate() -> anyhow::Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a key file.
pub fn load(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    let bytes = trustchain_core::encoding::hex::decode_array::<32>(text.trim(), "secret key")
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: {e} (expected 64 hex digits, as `trustchain-relay key new` writes)",
                path.display()
            )
        })?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Writes a key file with mode 0600; refuses to overwrite.
pub fn save(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| {
        format!(
            "cannot create key file {} (does it exist already?)",
            path.display()
        )
    })?;
    writeln!(
        f,
        "{}",
        trustchain_core::encoding::hex::encode(&key.to_bytes())
    )?;
    f.sync_all()?;
    Ok(())
}

/// Loads the key at `path`, creating it on first use.
pub fn load_or_create(path: &Path) -> anyhow::Result<SigningKey> {
    if path.exists() {
        load(path)
    } else {
        let k = generate()?;
        save(path, &k)?;
        Ok(k)
    }
}
