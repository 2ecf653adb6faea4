//! Lines as YAML sees them (each ends after `\n`, `\r\n` or a lone `\r`), and document
//! markers: shared by the loader's document split and the skim.

/// The lines of `bytes` as YAML sees them: each ends after `\n`, `\r\n` or a lone `\r`.
pub(super) fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let line_start = start;
        let end = match find_break(&bytes[start..]) {
            Some(i) if bytes[start + i] == b'\r' && bytes.get(start + i + 1) == Some(&b'\n') => {
                start + i + 2
            }
            Some(i) => start + i + 1,
            None => bytes.len(),
        };
        start = end;
        Some((line_start, end))
    })
}

/// The offset of the first `\n` or `\r` in `bytes`, eight bytes at a time: every pass over a
/// file's lines (splitting, the skim) spends most of its time here.
fn find_break(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
        if has_zero(word ^ (ONES * u64::from(b'\n'))) || has_zero(word ^ (ONES * u64::from(b'\r')))
        {
            break;
        }
        offset += 8;
    }
    bytes[offset..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|i| offset + i)
}

/// Whether a line (without its break) is a document marker: `---` or `...` at its start,
/// followed by white space or nothing. A marker at the start of a line always is one, even
/// where a block scalar would go on, so splitting there is exact.
pub(super) fn is_marker(line: &[u8], marker: &[u8; 3]) -> bool {
    line.starts_with(marker) && line.get(3).is_none_or(|b| b.is_ascii_whitespace())
}

/// A line without its break (`\n`, `\r\n` or a lone `\r`).
pub(super) fn trim_break(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_are_found_as_a_byte_search_finds_them() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'\n' || c == b'\r');
        let mut text: Vec<u8> = Vec::new();
        for i in 0..300u32 {
            // Every byte value, breaks at every alignment.
            text.push((i.wrapping_mul(37) % 256) as u8);
            for start in [0, i as usize / 2, i as usize] {
                let b = &text[start.min(text.len())..];
                assert_eq!(find_break(b), naive(b), "{b:?}");
            }
        }
        assert_eq!(find_break(b"abcdefghijklmnop\r"), Some(16));
        assert_eq!(find_break(b"abcdefgh\x8a\x8d\x0b\x0c"), None);
    }
}
