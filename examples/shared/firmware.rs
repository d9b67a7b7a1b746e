//! What every firmware example needs on QEMU's mps2-an386 (Cortex-M4F): exact
//! instruction counts, the stack high-water mark of a call, the flash and RAM the
//! image uses, and an exit status for the runner.
//!
//! Instruction counts: the runner starts QEMU with `-icount shift=7`, so virtual time
//! advances exactly 2^7 ns per executed instruction, and CMSDK timer0 (25 MHz, one tick
//! per 40 ns) becomes an instruction counter. They count retired instructions, not
//! Cortex-M4 cycles (no wait states, no multi-cycle divides): a deterministic measure of
//! the code, not wall time.

#![allow(dead_code)] // each example uses a different part

use core::ptr::{addr_of, read_volatile, write_volatile};

use cortex_m_semihosting::debug;

/// CMSDK APB timer0 of the mps2 boards.
const TIMER0: usize = 0x4000_0000;
const CTRL: usize = TIMER0;
const VALUE: usize = TIMER0 + 0x4;
const RELOAD: usize = TIMER0 + 0x8;
/// Must match `-icount shift=7` in `.cargo/config.toml`.
const ICOUNT_SHIFT: u32 = 7;
const NS_PER_TICK: u64 = 40;
/// What `cortex-m-rt`'s `paint-stack` feature writes below the stack at reset.
const PAINT: u32 = 0xCCCC_CCCC;

unsafe extern "C" {
    /// The top of the stack (end of RAM).
    static _stack_start: u32;
    /// The bottom of the stack: the end of .data, .bss and .uninit.
    static _stack_end: u32;
    /// Start of RAM's .data.
    static __sdata: u32;
    /// Load address of .data in flash: everything in flash before it is code and constants.
    static __sidata: u32;
    static __edata: u32;
}

/// Starts timer0 counting down from `u32::MAX` (1.34e9 instructions before it wraps).
pub fn start_counter() {
    // SAFETY: timer0's registers are valid MMIO addresses on mps2-an386, and nothing
    // else in these examples uses the timer.
    unsafe {
        write_volatile(CTRL as *mut u32, 0);
        write_volatile(RELOAD as *mut u32, u32::MAX);
        write_volatile(VALUE as *mut u32, u32::MAX);
        write_volatile(CTRL as *mut u32, 1);
    }
}

#[inline(always)]
fn ticks() -> u32 {
    // SAFETY: as in `start_counter`; reading the counter has no side effect.
    unsafe { read_volatile(VALUE as *const u32) }
}

/// Runs `f` and returns its result with the instructions it executed (about 5 of which
/// are the measurement itself). Needs [`start_counter`] first.
#[inline(always)]
pub fn instructions<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let t0 = ticks();
    // black_box: the result must be computed even when the caller ignores it.
    let r = core::hint::black_box(f());
    let t1 = ticks();
    let ns = u64::from(t0.wrapping_sub(t1)) * NS_PER_TICK;
    (r, (ns + (1 << (ICOUNT_SHIFT - 1))) >> ICOUNT_SHIFT)
}

/// Instructions since the last lap, for spans too long for one 32-bit count: each lap
/// must stay under 1.34e9 instructions, the total may not.
pub struct Stopwatch {
    last: u32,
    total: u64,
}

impl Stopwatch {
    /// Starts timing now. Needs [`start_counter`] first.
    pub fn start() -> Self {
        Self {
            last: ticks(),
            total: 0,
        }
    }

    /// Instructions since the previous lap (or the start).
    pub fn lap(&mut self) -> u64 {
        let now = ticks();
        let ns = u64::from(self.last.wrapping_sub(now)) * NS_PER_TICK;
        self.last = now;
        let lap = (ns + (1 << (ICOUNT_SHIFT - 1))) >> ICOUNT_SHIFT;
        self.total += lap;
        lap
    }

    /// Instructions over all laps.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Runs `f` and returns its result with the bytes of stack it used below the caller's
/// stack pointer (its own frame included): the stack below is painted first, then
/// scanned for the deepest overwritten word.
#[inline(always)]
pub fn stack_use<R>(f: impl FnOnce() -> R) -> (R, usize) {
    paint_below_sp();
    let sp = cortex_m::register::msp::read() as usize;
    let r = core::hint::black_box(f());
    (r, sp.saturating_sub(lowest_touched()))
}

#[inline(never)]
fn paint_below_sp() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = addr_of!(_stack_end) as usize;
    // Leave this function's own frame (a few words under sp) alone.
    while p < sp - 64 {
        // SAFETY: [_stack_end, sp - 64) is unused stack memory below every live frame.
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

#[inline(never)]
fn lowest_touched() -> usize {
    let top = addr_of!(_stack_start) as usize;
    let mut p = addr_of!(_stack_end) as usize;
    // SAFETY: [_stack_end, _stack_start) is the stack region, always readable.
    while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    p
}

/// The deepest the stack has been since reset, in bytes (the reset handler paints it).
pub fn stack_high_water() -> usize {
    addr_of!(_stack_start) as usize - lowest_touched()
}

/// Bytes of flash the image uses: vector table, code, constants and .data's initial values.
pub fn flash_bytes() -> usize {
    let data = addr_of!(__edata) as usize - addr_of!(__sdata) as usize;
    addr_of!(__sidata) as usize + data
}

/// Bytes of RAM in statics: .data, .bss and .uninit (the rest of RAM is stack).
pub fn static_ram_bytes() -> usize {
    addr_of!(_stack_end) as usize - addr_of!(__sdata) as usize
}

/// Ends the QEMU run with status 0 if `success`, 1 otherwise.
pub fn exit(success: bool) -> ! {
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Takes one more training step on the first batch of `data`, measured, and prints the
/// footprint report: what every training example ends with.
pub fn report_step<L, O, E, D, const N: usize>(
    workload: &'static str,
    trainer: &mut stackprop::Trainer<L, O, E, N>,
    data: &D,
) -> Result<(), stackprop::Error>
where
    L: stackprop::Layer,
    O: stackprop::Optimizer<L>,
    E: stackprop::Loss<L::Scalar>,
    D: stackprop::Dataset<L::Input, L::Output>,
{
    use stackprop::Zero;
    let mut x = [L::Input::ZERO; N];
    let mut t = [L::Output::ZERO; N];
    for (i, (x, t)) in x.iter_mut().zip(t.iter_mut()).enumerate() {
        data.load(i, x, t)?;
    }
    let (result, step_stack) = stack_use(|| trainer.step(&x, &t));
    result?;
    let (result, step_instructions) = instructions(|| trainer.step(&x, &t));
    result?;
    Footprint {
        workload,
        batch: N,
        step_instructions,
        step_stack,
        trainer_bytes: stackprop::Trainer::<L, O, E, N>::FOOTPRINT.total(),
    }
    .print();
    Ok(())
}

/// The footprint report every firmware example prints at the end of its run.
pub struct Footprint {
    /// What the figures are for, e.g. "2-8-1, N=1, SGD".
    pub workload: &'static str,
    /// Batch size of a step.
    pub batch: usize,
    /// Instructions of one training step.
    pub step_instructions: u64,
    /// Stack bytes of one training step.
    pub step_stack: usize,
    /// `Trainer::FOOTPRINT.total()`: the network, its buffers and optimizer state.
    pub trainer_bytes: usize,
}

impl Footprint {
    /// Prints the report, one `key: value` per line, for people and for CI's parser.
    pub fn print(&self) {
        use cortex_m_semihosting::hprintln;
        let per_sample = self.step_instructions as f64 / self.batch as f64;
        hprintln!("footprint {}:", self.workload);
        hprintln!(
            "  instructions per training step: {}",
            self.step_instructions
        );
        hprintln!("  instructions per sample: {:.0}", per_sample);
        hprintln!("  stack of a training step: {} B", self.step_stack);
        hprintln!(
            "  trainer (network, buffers, optimizer): {} B",
            self.trainer_bytes
        );
        hprintln!("  flash (code + constants): {} B", flash_bytes());
        hprintln!("  static RAM: {} B", static_ram_bytes());
        hprintln!(
            "  stack high-water mark of the run: {} B",
            stack_high_water()
        );
        hprintln!("  heap: 0 B");
    }
}
