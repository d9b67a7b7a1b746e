//! `Checkpoints` and `FlashSnapshot` over a misbehaving NOR flash driven by the input:
//! power cuts after any byte of an erase or a write (torn bytes, ECC words that then
//! fail to read, half-erased sectors), driver errors injected at any erase or write, and
//! reboots. After every reboot the newest committed record or the one before it must
//! load, and a save on a flash that no longer misbehaves must succeed and load back.
//!
//! ```text
//! cargo +nightly fuzz run checkpoints
//! ```
#![no_main]

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use libfuzzer_sys::fuzz_target;
use stackprop::persist::{Checkpoints, FlashSnapshot};
use stackprop::*;

const W: usize = 8;
const E: usize = 256;
const SLOT: u32 = 512;
const LEN: usize = 2 * SLOT as usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    PowerLost,
    Injected,
    Ecc,
    Bounds,
}

impl NorFlashError for Fault {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::Other
    }
}

/// ECC NOR flash: writes clear bits once per word per erase; a cut leaves the word or
/// sector under way unreadable.
struct Flash {
    mem: Vec<u8>,
    poisoned: Vec<bool>,
    /// Bytes erased or written before power is lost.
    budget: Option<usize>,
    /// Operations before the driver fails one.
    fail_in: Option<usize>,
    dead: bool,
    noise: u8,
}

impl Flash {
    fn op(&mut self) -> Result<(), Fault> {
        if self.dead {
            return Err(Fault::PowerLost);
        }
        if let Some(n) = self.fail_in.as_mut() {
            if *n == 0 {
                self.fail_in = None;
                return Err(Fault::Injected);
            }
            *n -= 1;
        }
        Ok(())
    }

    /// How many of `n` bytes complete before the cut; `None` if all do.
    fn cut(&mut self, n: usize) -> Option<usize> {
        match self.budget {
            Some(b) if b < n => {
                self.dead = true;
                self.budget = Some(0);
                Some(b)
            }
            Some(b) => {
                self.budget = Some(b - n);
                None
            }
            None => None,
        }
    }
}

impl ErrorType for Flash {
    type Error = Fault;
}

impl ReadNorFlash for Flash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Fault> {
        // Injected errors hit erases and writes; read errors come from ECC. (A
        // transient read error on the newest slot during a save is not survivable: the
        // save takes that slot for invalid and overwrites it.)
        if self.dead {
            return Err(Fault::PowerLost);
        }
        let at = offset as usize;
        let end = at
            .checked_add(bytes.len())
            .filter(|&e| e <= LEN)
            .ok_or(Fault::Bounds)?;
        if self.poisoned[at / W..end.div_ceil(W)].iter().any(|&p| p) {
            return Err(Fault::Ecc);
        }
        bytes.copy_from_slice(&self.mem[at..end]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        LEN
    }
}

impl NorFlash for Flash {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = E;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Fault> {
        self.op()?;
        let (from, to) = (from as usize, to as usize);
        assert!(
            from % E == 0 && to % E == 0 && from <= to && to <= LEN,
            "bad erase"
        );
        let done = self.cut(to - from);
        let end = done.map_or(to, |d| from + d);
        self.mem[from..end].fill(0xFF);
        self.poisoned[from / W..end / W].fill(false);
        if let Some(d) = done {
            let sector = (from + d) / E * E;
            let noise = self.noise;
            for b in &mut self.mem[sector.max(end)..sector + E] {
                *b |= noise;
            }
            self.poisoned[sector / W..(sector + E) / W].fill(true);
            return Err(Fault::PowerLost);
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Fault> {
        self.op()?;
        let at = offset as usize;
        assert!(
            at % W == 0 && bytes.len() % W == 0 && at + bytes.len() <= LEN,
            "bad write"
        );
        let done = self.cut(bytes.len());
        let n = done.unwrap_or(bytes.len());
        for (cell, b) in self.mem[at..at + n].iter_mut().zip(bytes) {
            *cell &= b;
        }
        if let Some(d) = done {
            let word = (at + d) / W;
            if let (Some(cell), Some(b)) = (self.mem.get_mut(at + d), bytes.get(d)) {
                *cell &= b | self.noise;
            }
            self.poisoned[word] = true;
            return Err(Fault::PowerLost);
        }
        Ok(())
    }
}

type Net = (Dense<2, 3, Tanh>, Dense<3, 2, Identity>);
type T = Trainer<Net, Sgd<Net, NoMomentum>, Mse, 1>;
const RECORD: usize = T::STATE_RECORD_LEN;

/// The record of save number `k`.
fn record(k: u8) -> Vec<u8> {
    let len = 1 + usize::from(k) * 37 % (SLOT as usize - 40);
    (0..len).map(|i| (i as u8).wrapping_mul(31) ^ k).collect()
}

fn newest(flash: &mut Flash) -> Option<Vec<u8>> {
    let mut store = Checkpoints::new(flash, 0, SLOT).expect("geometry");
    let mut buf = vec![0u8; SLOT as usize];
    let loaded = store
        .load(&mut buf)
        .expect("a reboot finds a readable slot");
    assert_eq!(
        loaded,
        store.latest().expect("readable"),
        "load and latest agree"
    );
    loaded.map(|l| buf[..l.len].to_vec())
}

fuzz_target!(|data: &[u8]| {
    let mut flash = Flash {
        mem: vec![0xFF; LEN],
        poisoned: vec![false; LEN / W],
        budget: None,
        fail_in: None,
        dead: false,
        noise: 0,
    };
    // The newest committed record and the one before it.
    let (mut newest_ok, mut previous): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    let mut k = 0u8;
    for op in data.chunks(3) {
        let (&kind, arg, noise) = match op {
            [a, b, c] => (a, *b, *c),
            _ => break,
        };
        flash.noise = noise;
        match kind % 4 {
            // A save that may lose power after `arg` × 7 bytes or meet an injected error.
            0 | 1 => {
                k = k.wrapping_add(1);
                let rec = record(k);
                flash.budget = (kind % 4 == 0).then_some(usize::from(arg) * 7);
                flash.fail_in = (kind & 0x80 != 0).then_some(usize::from(arg % 8));
                let saved = Checkpoints::new(&mut flash, 0, SLOT)
                    .expect("geometry")
                    .save(&rec);
                if saved.is_ok() {
                    previous = newest_ok.replace(rec);
                } else {
                    // Either record may now be the newest; both remain acceptable.
                    let pending = rec;
                    flash.budget = None;
                    flash.fail_in = None;
                    flash.dead = false;
                    let found = newest(&mut flash);
                    assert!(
                        found == newest_ok || found == previous || found.as_ref() == Some(&pending),
                        "after a failed save"
                    );
                    if found.as_ref() == Some(&pending) {
                        previous = newest_ok.replace(pending);
                    } else if found != newest_ok {
                        newest_ok = found;
                    }
                }
            }
            // A reboot: the newest committed record or the one before it loads.
            2 => {
                flash.budget = None;
                flash.fail_in = None;
                flash.dead = false;
                let found = newest(&mut flash);
                assert!(found == newest_ok || found == previous, "after a reboot");
            }
            // A FlashSnapshot save and restore on a healthy flash.
            _ => {
                flash.budget = None;
                flash.fail_in = None;
                flash.dead = false;
                let mut net = Net::ZERO;
                net.init(Init::GlorotUniform, &mut SplitMix64::new(u64::from(arg)));
                let sgd = Sgd::<Net, NoMomentum>::new(SgdConfig::new(0.1)).expect("valid");
                let mut store = FlashSnapshot::<_, RECORD>::new(
                    Checkpoints::new(&mut flash, 0, SLOT).expect("geometry"),
                )
                .with_write_every(1)
                .expect("valid");
                store
                    .save(&net, &sgd)
                    .expect("a healthy flash takes a snapshot");
                let (mut back, mut opt) = (Net::ZERO, Sgd::<Net, NoMomentum>::ZERO);
                store
                    .restore(&mut back, &mut opt)
                    .expect("and gives it back");
                assert_eq!(back, net);
                drop(store);
                let found = newest(&mut flash);
                previous = newest_ok.replace(found.expect("the snapshot"));
            }
        }
    }
    // Life goes on: a save on a healthy flash lands and wins.
    flash.budget = None;
    flash.fail_in = None;
    flash.dead = false;
    let rec = record(k.wrapping_add(1));
    Checkpoints::new(&mut flash, 0, SLOT)
        .expect("geometry")
        .save(&rec)
        .expect("the next save succeeds");
    assert_eq!(newest(&mut flash), Some(rec));
});
