//! The shipped binary (`make static`, in target/static/) is static: its ELF
//! program headers have no PT_INTERP and no PT_DYNAMIC, and it fits the
//! 1 MiB budget. Read from the file itself, no `file`/`readelf` needed.

use std::path::PathBuf;

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

fn static_binary() -> PathBuf {
    let path = std::env::var_os("VIGIL_STATIC_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/static/vigil"));
    assert!(
        path.exists(),
        "{} is missing: run `make static` first (make test does)",
        path.display()
    );
    path
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// The p_type of every program header of a little-endian ELF64 file.
fn program_header_types(elf: &[u8]) -> Vec<u32> {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not ELF64");
    assert_eq!(elf[5], 1, "not little-endian");
    let phoff = u64_at(elf, 0x20) as usize;
    let phentsize = usize::from(u16_at(elf, 0x36));
    let phnum = usize::from(u16_at(elf, 0x38));
    (0..phnum)
        .map(|i| u32_at(elf, phoff + i * phentsize))
        .collect()
}

#[test]
fn shipped_binary_is_static_and_small() {
    let path = static_binary();
    let elf = std::fs::read(&path).unwrap();
    let types = program_header_types(&elf);
    assert!(!types.is_empty());
    assert!(
        !types.contains(&PT_INTERP),
        "{} has an ELF interpreter",
        path.display()
    );
    assert!(
        !types.contains(&PT_DYNAMIC),
        "{} has a dynamic section",
        path.display()
    );
    assert!(
        elf.len() <= 1 << 20,
        "{} is {} bytes, over the 1 MiB budget",
        path.display(),
        elf.len()
    );
}

#[test]
fn the_check_can_fail() {
    // Control: the debug build is dynamically linked, and the parser says so.
    let elf = std::fs::read(env!("CARGO_BIN_EXE_vigil")).unwrap();
    let types = program_header_types(&elf);
    assert!(types.contains(&PT_INTERP) || types.contains(&PT_DYNAMIC));
}
