//! Helpers shared by the integration tests.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Seeded line mutations of `base`: `count` texts, each with 1-3 of a byte
/// replaced by one of `bytes`, a line cut in half, a line duplicated or a
/// line dropped. Returns (text, number of lines).
#[allow(dead_code)]
pub fn mutations(base: &str, seed: u64, count: usize, bytes: &[u8]) -> Vec<(String, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let lines: Vec<&str> = base.lines().collect();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        for _ in 0..(1 + rng.next_u32() % 3) {
            if l.is_empty() {
                break;
            }
            let i = (rng.next_u32() as usize) % l.len();
            match rng.next_u32() % 4 {
                0 => {
                    let mut b = l[i].clone().into_bytes();
                    if !b.is_empty() {
                        let j = (rng.next_u32() as usize) % b.len();
                        b[j] = bytes[(rng.next_u32() as usize) % bytes.len()];
                    }
                    l[i] = String::from_utf8_lossy(&b).to_string();
                }
                1 => {
                    let n = l[i].len() / 2;
                    l[i] = l[i].chars().take(n).collect();
                }
                2 => {
                    let d = l[i].clone();
                    l.insert(i, d)
                }
                _ => {
                    l.remove(i);
                }
            }
        }
        let n = l.len();
        out.push((l.join("\n"), n));
    }
    out
}

/// The include reader of a corpus script in `dir`: a relative name is the
/// file beside it (nftables' files/nftables/ keep their real names in
/// corpus/nft/nftables-files, as `nft -f` run in that directory reads
/// them); a name that is not there is not found (nft: "File not found"),
/// and a wildcard include (`/etc/nftables.d/*.nft`) matches nothing, as on
/// a machine without that directory.
#[allow(dead_code)]
pub fn include_reader_in(
    dir: std::path::PathBuf,
) -> impl Fn(&str) -> Result<Vec<(String, String)>, String> {
    move |pattern: &str| {
        if pattern.contains('*') || pattern.starts_with('/') {
            return Ok(Vec::new());
        }
        let path = dir.join(pattern);
        Ok(std::fs::read_to_string(&path)
            .map(|text| vec![(pattern.to_string(), text)])
            .unwrap_or_default())
    }
}

/// Every file under `dir` and its subdirectories, as (path relative to
/// `dir`, full path), sorted.
#[allow(dead_code)]
pub fn files_under(dir: &std::path::Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                out.push((rel, p));
            }
        }
    }
    out.sort();
    out
}
