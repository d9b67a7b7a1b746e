//! Firmware that proves the guard and persistence paths cannot panic, beside
//! `fw_nopanic`: it links with `panic-never`, so any panic left anywhere in the image
//! is a link error.
//!
//! It runs the `Watchdog` over a RAM `Snapshot` and over a `FlashSnapshot`,
//! `Checkpoints`, SGD (with and without momentum) and Adam with clipping on and off,
//! `Frozen` and `FrozenRef` layers, every activation and every loss, `evaluate`, and
//! `train_epoch` under every `Remainder`, all on values the compiler cannot see
//! through (`black_box`).
//!
//! ```sh
//! cargo run --release --example fw_nopanic_guard --target thumbv7em-none-eabihf
//! ```

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod device {
    use core::hint::black_box;

    use cortex_m_rt::entry;
    use cortex_m_semihosting::{debug, hio};
    use embedded_storage::nor_flash::{
        ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
    };
    use panic_never as _;
    use stackprop::persist::{Architecture, Checkpoints, FlashSnapshot, OptimizerState, Progress};
    use stackprop::*;

    const N: usize = 4;
    /// Not a multiple of N, so every remainder policy has work to do.
    const SAMPLES: usize = 10;

    static FEATURES: Dense<3, 4, Silu> = Dense::new([[0.25; 4]; 3], [0.0; 4]);

    type A = (
        Dense<3, 4, Tanh>,
        Frozen<Dense<4, 4, Relu>>,
        Dense<4, 2, Identity>,
    );
    type B = (
        FrozenRef<Dense<3, 4, Silu>>,
        Dense<4, 4, LeakyRelu>,
        Dense<4, 1, Sigmoid>,
    );
    type C = (Dense<3, 4, Softplus>, Dense<4, 2, Identity>);

    const LEN: usize = Trainer::<A, Adam<A>, SoftmaxCrossEntropy, N>::STATE_RECORD_LEN;
    const SLOT: usize = 1024;
    type Flash = RamFlash<{ 2 * SLOT }>;

    #[entry]
    fn main() -> ! {
        static mut FLASH: Flash = RamFlash([0xff; 2 * SLOT]);
        static mut FLASH2: Flash = RamFlash([0xff; 2 * SLOT]);
        let ok = run(FLASH, FLASH2).is_ok();
        say(if ok {
            b"no-panic guard firmware ran\n"
        } else {
            b"error\n"
        });
        debug::exit(if ok {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
        #[allow(clippy::empty_loop)]
        loop {}
    }

    fn data<const K: usize>(rng: &mut SplitMix64) -> ([[f32; 3]; SAMPLES], [[f32; K]; SAMPLES]) {
        let mut x = [[0.0; 3]; SAMPLES];
        let mut t = [[0.0; K]; SAMPLES];
        for (x, t) in x.iter_mut().zip(t.iter_mut()) {
            for v in x.iter_mut() {
                *v = rng.next_f64() as f32 - 0.5;
            }
            if let Some(hot) = t.get_mut(rng.below(K as u64) as usize) {
                *hot = 1.0;
            }
        }
        (black_box(x), black_box(t))
    }

    /// Steps, epochs under every remainder, an evaluation, and a watched run.
    fn exercise<L, O, E, St, const K: usize>(
        trainer: &mut Trainer<L, O, E, N>,
        store: St,
        rng: &mut SplitMix64,
    ) -> Result<(), Error>
    where
        L: Layer<Scalar = f32, Input = [f32; 3], Output = [f32; K]>,
        O: Optimizer<L> + LearningRate<f32>,
        E: Loss<f32>,
        St: SnapshotStore<L, O>,
    {
        let (x, t) = data::<K>(rng);
        let data = Samples::new(&x, &t)?;
        for remainder in [Remainder::Wrap, Remainder::Skip, Remainder::Reject] {
            let _ = trainer.train_epoch(&data, Some(rng), black_box(remainder));
        }
        black_box(trainer.evaluate(&data)?);
        let mut watchdog = Watchdog::<f32, St, 8>::new(WatchdogConfig::new(), store)?;
        let bx = black_box([x[0], x[1], x[2], x[3]]);
        let bt = black_box([t[0], t[1], t[2], t[3]]);
        for _ in 0..black_box(40) {
            black_box(watchdog.step(trainer, &bx, &bt)?);
        }
        Ok(())
    }

    fn run(flash: &'static mut Flash, flash2: &'static mut Flash) -> Result<(), Error> {
        let mut rng = SplitMix64::new(black_box(5));
        let clip = |on: bool| on.then_some(1.0);

        // A: Frozen, Tanh, Relu, Identity; softmax cross-entropy; Adam in flash.
        let mut a = Trainer::<A, Adam<A>, SoftmaxCrossEntropy, N>::ZERO;
        a.net.init(Init::GlorotUniform, &mut rng);
        for on in [black_box(false), black_box(true)] {
            let config = AdamConfig {
                clip_norm: clip(on),
                clip_value: clip(!on),
                ..AdamConfig::new(1e-2)
            };
            a.optimizer.set_config(config)?;
            let checkpoints = Checkpoints::new(&mut *flash, 0, SLOT as u32)
                .map_err(|_| Error::Storage { what: "geometry" })?;
            exercise(&mut a, FlashSnapshot::<_, LEN>::new(checkpoints), &mut rng)?;
        }
        checkpoint(&mut a, flash2)?;

        // B: FrozenRef, Silu, LeakyRelu, Sigmoid; Bce and Mse; SGD with momentum in RAM.
        let mut b = Trainer::<B, Sgd<B, WithMomentum>, Bce, N>::new(
            (FrozenRef(&FEATURES), Dense::ZERO, Dense::ZERO),
            Sgd::ZERO,
            Bce,
        );
        b.net.init(Init::GlorotUniform, &mut rng);
        for on in [black_box(false), black_box(true)] {
            let config = SgdConfig {
                clip_norm: clip(on),
                ..SgdConfig::new(0.1).with_momentum(0.9)
            };
            b.optimizer.set_config(config)?;
            let store = Snapshot::new(b.net, b.optimizer);
            exercise(&mut b, store, &mut rng)?;
        }
        let mut b = Trainer::<B, Sgd<B, WithMomentum>, Mse, N>::new(b.net, b.optimizer, Mse);
        let store = Snapshot::new(b.net, b.optimizer);
        exercise(&mut b, store, &mut rng)?;

        // C: Softplus; Huber; SGD without momentum, clipping on and off.
        let mut c = Trainer::<C, Sgd<C, NoMomentum>, Huber, N>::ZERO;
        c.net.init(Init::HeUniform, &mut rng);
        for on in [black_box(false), black_box(true)] {
            let config = SgdConfig {
                clip_value: clip(on),
                ..SgdConfig::new(0.1)
            };
            c.optimizer.set_config(config)?;
            let store = Snapshot::new(c.net, c.optimizer);
            exercise(&mut c, store, &mut rng)?;
        }
        Ok(())
    }

    /// Checkpoints a training state and loads it back.
    fn checkpoint<L, O, E>(
        trainer: &mut Trainer<L, O, E, N>,
        flash: &mut Flash,
    ) -> Result<(), Error>
    where
        L: Architecture,
        O: OptimizerState<L>,
    {
        let mut scratch = [0u8; LEN];
        let progress = Progress {
            steps: black_box(1),
            rng: SplitMix64::new(black_box(2)),
        };
        let mut checkpoints = Checkpoints::new(flash, 0, SLOT as u32)
            .map_err(|_| Error::Storage { what: "geometry" })?;
        let storage = |_| Error::Storage { what: "checkpoint" };
        checkpoints
            .save_state(trainer, &progress, &mut scratch)
            .map_err(storage)?;
        black_box(checkpoints.latest().map_err(storage)?);
        checkpoints
            .load_state(trainer, &mut scratch)
            .map_err(storage)?;
        Ok(())
    }

    /// NOR flash in RAM: erased bytes read 0xFF, writes only clear bits.
    struct RamFlash<const LEN: usize>([u8; LEN]);

    #[derive(Debug)]
    struct OutOfBounds;

    impl NorFlashError for OutOfBounds {
        fn kind(&self) -> NorFlashErrorKind {
            NorFlashErrorKind::OutOfBounds
        }
    }

    impl<const LEN: usize> ErrorType for RamFlash<LEN> {
        type Error = OutOfBounds;
    }

    impl<const LEN: usize> RamFlash<LEN> {
        fn range(&mut self, from: u32, len: usize) -> Result<&mut [u8], OutOfBounds> {
            let from = from as usize;
            self.0
                .get_mut(from..from.checked_add(len).ok_or(OutOfBounds)?)
                .ok_or(OutOfBounds)
        }
    }

    impl<const LEN: usize> ReadNorFlash for RamFlash<LEN> {
        const READ_SIZE: usize = 1;

        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
            bytes.copy_from_slice(self.range(offset, bytes.len())?);
            Ok(())
        }

        fn capacity(&self) -> usize {
            LEN
        }
    }

    impl<const LEN: usize> NorFlash for RamFlash<LEN> {
        const WRITE_SIZE: usize = 4;
        const ERASE_SIZE: usize = 512;

        fn erase(&mut self, from: u32, to: u32) -> Result<(), OutOfBounds> {
            let len = to.checked_sub(from).ok_or(OutOfBounds)? as usize;
            self.range(from, len)?.fill(0xff);
            Ok(())
        }

        fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), OutOfBounds> {
            for (cell, &byte) in self.range(offset, bytes.len())?.iter_mut().zip(bytes) {
                *cell &= byte;
            }
            Ok(())
        }
    }

    fn say(text: &[u8]) {
        if let Ok(mut out) = hio::hstdout() {
            let _ = out.write_all(text);
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fw_nopanic_guard is firmware: cargo run --release --example fw_nopanic_guard --target thumbv7em-none-eabihf"
    );
}
