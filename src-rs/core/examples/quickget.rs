use cacheme_core::{LocalCache, PolicyKind};
use std::time::Instant;
fn main() {
    let n = 100_000u32;
    let keys: Vec<String> = (0..n).map(|i| format!("user:{i}:info:v1")).collect();
    let mut c = LocalCache::new(PolicyKind::TinyLfu, n).unwrap();
    for k in &keys {
        c.insert(k.as_bytes(), None);
    }
    let mut x = 88172645463325252u64;
    let seq: Vec<usize> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            ((n as f64) * u.powi(3)) as usize
        })
        .collect();
    for _ in 0..3 {
        let t = Instant::now();
        let mut hits = 0;
        for &i in &seq {
            if c.get(keys[i].as_bytes()).is_some() {
                hits += 1;
            }
        }
        let dt = t.elapsed().as_secs_f64();
        println!("{:.1} ns/op hits {hits}", dt * 1e9 / seq.len() as f64);
    }
}
